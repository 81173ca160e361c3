# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Harbor 1.5 (legacy profile) inputs that need care, without a lab.

The role's real templates/v1 are rendered by ansible-playbook from the role's own defaults and vars, with a DNS
Redis host and hostile passwords; then the installer double's parsers, which read like Harbor 1.5.4 does
(tests/harbor_double/LAYOUT.md), read the results back: harbor.cfg through the double's prepare (Python 2's
RawConfigParser rules, NoOptionError for a missing option), the jobservice config through the 1.5 jobservice's
redis_url handling (goharbor/harbor#6090), the ui env through beego's session provider format, the registry config
as YAML. Also: the image namespace per version and the 1.x proxy's TLS protocols.
"""

import argparse
import configparser
import importlib.machinery
import importlib.util
import json
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from playbook_env import ansible_env

REPO = pathlib.Path(__file__).resolve().parents[2]
ROLE = REPO / 'roles' / 'harbor'
CLUSTER = REPO / 'roles' / 'cluster'
DOUBLE = REPO / 'tests' / 'harbor_double'
DOUBLE_PREPARE = DOUBLE / 'installer' / 'v1' / 'prepare'

REDIS_HOST = 'redis.lab.test'
# The characters every input must survive: @ : / , # % $ ' " and a space, plus ';' '=' and '%(x)s' for the INI
# format. ';' never right after whitespace and no whitespace at either end: harbor.cfg cannot carry those (preflight
# refuses them; test_preflight_regex_matches_the_reader proves the rule).
REDIS_PASSWORD = "r@d:s/p,w#d%x$y'q\"z w;e"
# The ui's _REDIS_URL cannot carry a ',' at all (beego splits it at every ','; preflight refuses it).
UI_REDIS_PASSWORD = REDIS_PASSWORD.replace(',', '')
DB_PASSWORD = "Db%(pw)s=:#1'\" $x;y %%"
ADMIN_PASSWORD = "Adm#1 %s@:/,$HOME'\""
LDAP_PASSWORD = "l;dap pw%=:#"
EMAIL_PASSWORD = "m@il \"pw\" %"
TEMPLATES = ['harbor.cfg', 'adminserver/env', 'ui/env', 'jobservice/env', 'jobservice/config.yml', 'registry/config.yml',
             'nginx/nginx.conf', 'log/logrotate.conf', 'ui/app.conf', 'docker-compose.yml']
# Harbor v1.5.4 make/common/templates/nginx/nginx.https.conf
REAL_V154_SSL_PROTOCOLS = ['TLSv1.1', 'TLSv1.2']
REAL_V154_SSL_CIPHERS = "'!aNULL:kECDH+AESGCM:ECDH+AESGCM:RSA+AESGCM:kECDH+AES:ECDH+AES:RSA+AES:'"


def _load(name, path):
    """Imports a double's source file (the 1.x prepare has no .py suffix) as a module."""
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    return module


@pytest.fixture(scope='session', name='rendered')
def fixture_rendered(tmp_path_factory):
    """Runs the role's v1 templates through ansible-playbook; returns the directory of the rendered files."""
    work = tmp_path_factory.mktemp('legacy-inputs')
    out = work / 'out'
    out.mkdir()
    # The playbook's templates/ is the role's, so template paths resolve as in the role.
    (work / 'templates').symlink_to(ROLE / 'templates')
    keyset = work / 'keyset'
    (keyset / 'secrets').mkdir(parents=True)
    for name, value in (('core_secret', 'CoreSecret0123456'), ('jobservice_secret', 'JobSecret01234567'),
                        ('registry_http_secret', 'HttpSecret0123456')):
        (keyset / 'secrets' / name).write_text(value)
    (work / 'opt' / 'tls').mkdir(parents=True)
    for name in ('server.crt', 'server.key'):
        (work / 'opt' / 'tls' / name).write_text('placeholder %s\n' % name)
    (work / 'data').mkdir()
    inputs = {
        'harbor_version': '1.5.4', 'harbor_hostname': 'harbor.lab.test', 'harbor_tls_mode': 'self_signed',
        'harbor_admin_password': ADMIN_PASSWORD, 'harbor_keyset_dir': str(keyset),
        'harbor_install_dir': str(work / 'opt'), 'harbor_data_volume': str(work / 'data'),
        'harbor_database_host': 'db.lab.test', 'harbor_database_password': DB_PASSWORD,
        'harbor_redis_host': REDIS_HOST, 'harbor_redis_password': REDIS_PASSWORD,
        'harbor_legacy_config': {'LDAP_SEARCH_PWD': LDAP_PASSWORD, 'EMAIL_PWD': EMAIL_PASSWORD},
    }
    (work / 'inputs.json').write_text(json.dumps(inputs))

    def put(name, content, task_vars=None):
        task = {'name': 'Write ' + name, 'ansible.builtin.copy': {'content': content, 'dest': str(out / name), 'mode': '0600'}}
        if task_vars:
            task['vars'] = task_vars
        return task

    play = {
        'name': "Render the harbor role's Harbor 1.x templates", 'hosts': 'localhost', 'connection': 'local',
        'gather_facts': False,
        # As the role sees them: the cluster role's settings and facts (a dependency), then the role's own.
        'vars_files': [str(CLUSTER / 'defaults' / 'main.yml'), str(ROLE / 'defaults' / 'main.yml'), str(work / 'inputs.json'),
                       str(CLUSTER / 'vars' / 'main.yml'), str(ROLE / 'vars' / 'main.yml'), str(ROLE / 'vars' / 'v1.yml')],
        'tasks': [
            {'name': 'Render the v1 templates',
             'ansible.builtin.template': {'src': 'v1/{{ item }}.j2', 'dest': str(out) + '/{{ item | replace("/", "__") }}',
                                          'mode': '0600'},
             'loop': TEMPLATES},
            {'name': 'Render the ui env with a Redis password the ui can carry',
             'ansible.builtin.template': {'src': 'v1/ui/env.j2', 'dest': str(out / 'ui__env.carryable'), 'mode': '0600'},
             'vars': {'harbor_redis_password': UI_REDIS_PASSWORD}},
            put('namespace-1.5.4', '{{ harbor_image_namespace }}'),
            put('namespace-2.15.0', '{{ harbor_image_namespace }}', {'harbor_version': '2.15.0'}),
        ],
    }
    (work / 'render.yml').write_text(yaml.safe_dump([play], sort_keys=False))
    proc = subprocess.run([str(pathlib.Path(sys.executable).parent / 'ansible-playbook'), '-i', 'localhost,', 'render.yml'],
                          cwd=str(work), env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, 'ansible-playbook failed (rc %s)\n%s\n%s' % (proc.returncode, proc.stdout, proc.stderr)
    return out


@pytest.fixture(scope='session', name='prepare')
def fixture_prepare():
    return _load('harbor_double_prepare_v1', DOUBLE_PREPARE)


@pytest.fixture(scope='session', name='services')
def fixture_services():
    return _load('harbor_services_double', DOUBLE / 'services' / 'harbor_services_double.py')


@pytest.fixture(scope='session', name='core')
def fixture_core():
    return _load('harbor_core_double', DOUBLE / 'core' / 'harbor_core_double.py')


def _installer_copy(base):
    """The double's 1.x installer directory as build-installer.sh packs it (minus the images)."""
    installer = base / 'harbor'
    shutil.copytree(DOUBLE / 'installer' / 'v1', installer)
    for template in installer.joinpath('common', 'templates').rglob('*.in'):
        template.rename(template.with_suffix(''))
    (installer / 'common' / 'templates' / 'ui' / 'private_key.pem').write_text('default token key\n')
    (installer / 'common' / 'templates' / 'registry' / 'root.crt').write_text('default token certificate\n')
    return installer


def _run_prepare(installer, *args):
    return subprocess.run([sys.executable, str(installer / 'prepare')] + list(args), cwd=str(installer),
                          capture_output=True, text=True, timeout=120, check=False)


def _env_file(path):
    """KEY=VALUE lines read like docker compose v2's env_file parser reads the form the role's v1 env templates
    write (filter env_file_value): double-quoted, with backslash escapes for backslash, double quote and dollar."""
    values = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if not line or line.startswith('#'):
            continue
        key, _sep, value = line.partition('=')
        assert len(value) >= 2 and value[0] == value[-1] == '"', 'unexpected env_file form: %s' % line
        out, chars = [], iter(value[1:-1])
        for char in chars:
            if char == '\\':
                escaped = next(chars)
                out.append({'n': '\n', '\\': '\\', '"': '"', '$': '$'}[escaped])
            else:
                assert char not in '"$', 'unescaped %s in %s' % (char, line)
                out.append(char)
        values[key] = ''.join(out)
    return values


# ------------------------------------------------------------------------------------------------- (a) harbor.cfg
def test_harbor_cfg_reads_back_exactly(rendered, prepare):
    """Every option the real 1.5.4 prepare reads is there (with --ha, https and --with-clair too), and every value
    reads back as the input: Python 2's RawConfigParser, no '%' interpolation."""
    rcp = prepare.read_config(str(rendered / 'harbor.cfg'))
    opts = prepare.read_options(rcp, argparse.Namespace(ha_mode=True, clair_mode=True, notary_mode=False, yes=True))
    assert opts['harbor_admin_password'] == ADMIN_PASSWORD
    assert opts['db_password'] == DB_PASSWORD
    assert opts['redis_url'] == '%s:6379,100,%s,0' % (REDIS_HOST, REDIS_PASSWORD)
    assert opts['ldap_search_pwd'] == LDAP_PASSWORD
    assert opts['email_password'] == EMAIL_PASSWORD
    expected = {'hostname': 'harbor.lab.test', 'ui_url_protocol': 'https', 'db_host': 'db.lab.test', 'db_port': '3306',
                'db_user': 'harbor', 'customize_crt': 'off', 'auth_mode': 'db_auth', 'max_job_workers': '10',
                'token_expiration': '30', 'reload_config': 'true', 'skip_reload_env_pattern': '$^',
                'registry_storage_provider_name': 'filesystem', 'project_creation_restriction': 'everyone',
                'registry_storage_provider_config': 'rootdirectory: /storage', 'ldap_searchdn': '', 'ldap_filter': '',
                'self_registration': 'off', 'admiral_url': 'NA', 'no_proxy': '127.0.0.1,localhost,ui'}
    assert {key: opts[key] for key in expected} == expected
    assert opts['ssl_cert'].endswith('/opt/tls/server.crt') and opts['secretkey_path'].endswith('/data')
    for option in ('db_host', 'registry_storage_provider_name', 'redis_url', 'ssl_cert', 'ssl_cert_key'):  # --ha validate
        assert rcp.has_option('configuration', option)


def test_double_prepare_runs_on_the_rendered_harbor_cfg(rendered, tmp_path):
    """The double's whole prepare (--ha) runs on the role's harbor.cfg and renders the values verbatim."""
    installer = _installer_copy(tmp_path)
    shutil.copy(str(rendered / 'harbor.cfg'), str(installer / 'harbor.cfg'))
    proc = _run_prepare(installer, '--ha', '--yes')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    adminserver = (installer / 'common' / 'config' / 'adminserver' / 'env').read_text().splitlines()
    assert 'MYSQL_PWD=' + DB_PASSWORD in adminserver
    assert 'HARBOR_ADMIN_PASSWORD=' + ADMIN_PASSWORD in adminserver
    assert 'LDAP_SEARCH_PWD=' + LDAP_PASSWORD in adminserver
    ui_env = (installer / 'common' / 'config' / 'ui' / 'env').read_text().splitlines()
    assert '_REDIS_URL=%s:6379,100,%s,0' % (REDIS_HOST, REDIS_PASSWORD) in ui_env


def test_double_prepare_wipes_config_then_stops_at_a_missing_option(rendered, tmp_path):
    """Like Harbor 1.5.4: common/config is emptied first, then a missing option is a NoOptionError (the role's
    harbor.cfg before it carried every option stopped at ldap_url)."""
    installer = _installer_copy(tmp_path)
    text = (rendered / 'harbor.cfg').read_text()
    (installer / 'harbor.cfg').write_text(re.sub(r'(?m)^ldap_url =.*\n', '', text))
    stale = installer / 'common' / 'config' / 'ui' / 'env'
    stale.parent.mkdir(parents=True)
    stale.write_text('_REDIS_URL=kept?\n')
    proc = _run_prepare(installer, '--ha', '--yes')
    assert proc.returncode != 0
    assert "NoOptionError: No option 'ldap_url' in section: 'configuration'" in proc.stderr
    assert not stale.exists()


@pytest.mark.parametrize('line, value', [
    ('k = a ;b', 'a'), ('k = a;b ;c', 'a;b ;c'), ('k = ""', ''), ('k =  x\t', 'x'), ('k = %(x)s%%', '%(x)s%%'),
    ('K: #x=1', '#x=1'), ('k = a\n  b', 'a\nb'), ('k = \u180ex', 'x'),
])
def test_double_reads_like_python2_rawconfigparser(prepare, tmp_path, line, value):
    """Python 2.7's RawConfigParser rules, which differ from Python 3's configparser (inline ';' comments, "")."""
    path = tmp_path / 'harbor.cfg'
    path.write_text('# comment\n' + line + '\n', encoding='utf-8')
    assert prepare.read_config(str(path)).get('configuration', 'k') == value


def test_preflight_regex_matches_the_reader(prepare, tmp_path):
    """vars/v1.yml __harbor_v1_cfg_unreadable (preflight) flags exactly the values harbor.cfg cannot carry."""
    unreadable = yaml.safe_load((ROLE / 'vars' / 'v1.yml').read_text())['__harbor_v1_cfg_unreadable']
    alphabet = [' ', '\t', ';', '"', '%', 'a', '#', '=', '\xa0', '\u180e', '\r', '\n', '\x0b']
    values = [a + b + c for a in alphabet for b in alphabet for c in alphabet] + ['""', '', 'a""', 'x ;y;z', 'x;y ;z']
    path = tmp_path / 'harbor.cfg'
    wrong = []
    for value in values:
        path.write_text('k = %s\n' % value, encoding='utf-8', newline='')
        try:
            readable = prepare.read_config(str(path)).get('configuration', 'k') == value
        except configparser.Error:
            readable = False
        if readable == bool(re.search(unreadable, value)):
            wrong.append(value)
    assert not wrong, 'preflight regex and reader disagree on %r' % wrong[:10]


PREFLIGHT_CASES = {
    'db-trailing-space': {'harbor_database_password': 'Db pass '},
    'ldap-inline-comment': {'harbor_legacy_config': {'LDAP_SEARCH_PWD': 'ldap ;pw'}},
    'redis-comma': {'harbor_redis_password': 'red,is'},
    'hostile-but-carryable': {'harbor_database_password': 'Db%(pw)s=:#1" $x;y %%', 'harbor_admin_password': 'Adm#1 %s@:/,$H"',
                              'harbor_redis_password': 'r@d:s/pw#d%x$y"z w;e'},
}


def test_preflight_refuses_what_harbor_1x_cannot_carry(tmp_path):
    """The role's own preflight tasks: a value harbor.cfg or the ui cannot carry stops the play with a message naming
    the variable (and no value); hostile values that can be carried pass the 1.x checks."""
    inputs = {'harbor_version': '1.5.4', 'harbor_hostname': 'harbor.lab.test', 'harbor_admin_password': 'Adm1n-pass',
              'harbor_keyset_dir': str(tmp_path / 'no-keyset'), 'harbor_database_host': 'db.lab.test',
              'harbor_database_password': 'db-pass', 'harbor_redis_host': REDIS_HOST, 'harbor_redis_password': 'redis-pass',
              'harbor_installer_checksum': 'sha256:0', 'harbor_storage_path': str(tmp_path / 'share' / 'registry')}
    (tmp_path / 'inputs.json').write_text(json.dumps(inputs))
    blocks = [{'name': 'Preflight with ' + case, 'vars': case_vars,
               'block': [{'name': 'Run the preflight', 'ansible.builtin.include_tasks': str(ROLE / 'tasks' / 'preflight.yml')}],
               'rescue': [{'name': 'Keep the refusal', 'ansible.builtin.copy': {
                   'content': '{{ {"task": ansible_failed_task.name, "msg": ansible_failed_result.msg} | to_json }}',
                   'dest': str(tmp_path / (case + '.json')), 'mode': '0600'}}]}
              for case, case_vars in PREFLIGHT_CASES.items()]
    play = {'name': 'Preflight', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
            'vars_files': [str(CLUSTER / 'defaults' / 'main.yml'), str(ROLE / 'defaults' / 'main.yml'), str(tmp_path / 'inputs.json'),
                           str(CLUSTER / 'vars' / 'main.yml'), str(ROLE / 'vars' / 'main.yml'), str(ROLE / 'vars' / 'v1.yml')],
            'tasks': blocks}
    (tmp_path / 'preflight.yml').write_text(yaml.safe_dump([play], sort_keys=False))
    proc = subprocess.run([str(pathlib.Path(sys.executable).parent / 'ansible-playbook'), '-i', 'localhost,', 'preflight.yml'],
                          cwd=str(tmp_path), env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    refusals = {case: json.loads((tmp_path / (case + '.json')).read_text()) for case in PREFLIGHT_CASES}
    assert 'harbor.cfg cannot carry the value of harbor_database_password exactly' in refusals['db-trailing-space']['msg']
    assert 'harbor.cfg cannot carry the value of harbor_legacy_config.LDAP_SEARCH_PWD exactly' in refusals['ldap-inline-comment']['msg']
    assert "harbor_redis_password must not contain a ','" in refusals['redis-comma']['msg']
    mine = ('Check that harbor.cfg can carry every Harbor 1.x value exactly',
            "Check that harbor_redis_password fits the Harbor 1.x ui's Redis setting")
    assert refusals['hostile-but-carryable']['task'] not in mine  # stops later (no key set here), not at the 1.x checks
    for refusal in refusals.values():
        assert 'Db pass' not in refusal['msg'] and 'red,is' not in refusal['msg'] and 'ldap ;pw' not in refusal['msg']


# ------------------------------------------------------------------------------------------------------ (b) Redis
def test_jobservice_config_resolves_with_a_dns_name_and_a_password(rendered, services):
    url = yaml.safe_load((rendered / 'jobservice__config.yml').read_text())['worker_pool']['redis_pool']['redis_url']
    assert services.redigo_dial_url(services.v1_jobservice_redis_url(url)) == (REDIS_HOST, 6379, REDIS_PASSWORD, 2)
    client, _where = services.redis_from_url(url, 'v1')
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs['host'], kwargs['port'], kwargs['password'], kwargs['db']) == (REDIS_HOST, 6379, REDIS_PASSWORD, 2)
    assert kwargs.get('username') is None  # redigo sends AUTH <password> only


def test_jobservice_double_fails_like_issue_6090_on_the_comma_form(services):
    """host NAME + password in the comma form: Go's url.Parse takes the name as a URL scheme, the dial asks for port
    '6379,100,passwd,0'; an IP, or no password, works (goharbor/harbor#6090)."""
    comma = '%s:6379,100,passwd,0' % REDIS_HOST
    client, _where = services.redis_from_url(comma, 'v1')
    with pytest.raises(services.RedisDialError, match='lookup tcp/6379,100,passwd,0: Servname not supported'):
        client.ping()
    config = {'worker_pool': {'redis_pool': {'redis_url': comma, 'namespace': 'harbor_job_service_namespace'}}}
    with pytest.raises(RuntimeError) as failure:
        services.Jobservice(config, {'HARBOR_DOUBLE_CONNECT_TIMEOUT': '-1'}, 'v1')
    assert str(failure.value) == ('Failed to load and run worker pool: connect to redis server timeout: '
                                  'dial tcp: lookup tcp/6379,100,passwd,0: Servname not supported for ai_socktype')
    for raw, resolved in (('10.0.0.7:6379,100,passwd,3', ('10.0.0.7', 6379, 'passwd', 3)),
                          ('%s:6379' % REDIS_HOST, (REDIS_HOST, 6379, None, 0))):
        assert services.redigo_dial_url(services.v1_jobservice_redis_url(raw)) == resolved


def test_ui_env_resolves_with_a_dns_name_and_a_password(rendered, core):
    value = _env_file(rendered / 'ui__env.carryable')['_REDIS_URL']
    assert core.ui_v1_redis_settings(value) == (REDIS_HOST, 6379, UI_REDIS_PASSWORD, 0, None)


def test_ui_double_reads_the_comma_form_only(core):
    assert core.ui_v1_redis_settings('%s:6379' % REDIS_HOST) == (REDIS_HOST, 6379, None, 0, None)
    assert core.ui_v1_redis_settings('%s:6379,100,a,b:c,1' % REDIS_HOST) == (REDIS_HOST, 6379, 'a', 0, None)
    with pytest.raises(RuntimeError, match='too many colons'):
        core.ui_v1_redis_settings('redis://:pw@%s:6379/0' % REDIS_HOST)


def test_registry_config_resolves_with_a_dns_name_and_a_password(rendered):
    redis = yaml.safe_load((rendered / 'registry__config.yml').read_text())['redis']
    assert (redis['addr'], redis['password'], redis['db']) == ('%s:6379' % REDIS_HOST, REDIS_PASSWORD, 1)


# ------------------------------------------------------------------------------------------- (c) image namespace
def test_image_namespace_follows_the_version(rendered):
    assert (rendered / 'namespace-1.5.4').read_text() == 'vmware'
    assert (rendered / 'namespace-2.15.0').read_text() == 'goharbor'
    assert 'image: vmware/harbor-ui:v1.5.4' in (rendered / 'docker-compose.yml').read_text()


# ---------------------------------------------------------------------------------------------------- (d) TLS
def _ssl_lines(text):
    protocols = re.search(r'(?m)^\s*ssl_protocols\s+([^;]*);', text).group(1).split()
    ciphers = re.search(r'(?m)^\s*ssl_ciphers\s+([^;]*);', text).group(1)
    return protocols, ciphers


def test_v1_proxy_tls_matches_harbor_154(rendered):
    double = _ssl_lines((DOUBLE / 'installer' / 'v1' / 'common' / 'templates' / 'nginx' / 'nginx.https.conf').read_text())
    assert double == (REAL_V154_SSL_PROTOCOLS, REAL_V154_SSL_CIPHERS)
    assert _ssl_lines((rendered / 'nginx__nginx.conf').read_text()) == double
