"""Behaviour of the Harbor 1.5 HA lab (the legacy profile) after converge + idempotence (molecule scenario legacy).

Read-only checks come first; the disruptive ones (a wrong schema version, a foreign database, bad input) each
restore the lab before they finish.
"""

import contextlib
import json
import re
import time
import uuid

import pymysql
import pytest
import requests
import yaml

# The shared checks below are imported so that pytest collects them here too.
from shared_checks import (  # noqa: F401  pylint: disable=unused-import
    test_a_file_written_on_the_first_node_is_read_on_the_last, test_fstab_has_the_cephfs_line_and_the_share_is_really_mounted,
    test_a_lost_key_set_is_not_replaced_on_nodes_that_run_harbor, test_client_pushes_through_the_lb_and_pulls_the_same_digest_from_each_node,
    test_verify_playbook_passes_from_controller_and_clients,
    test_a_rebooted_node_starts_harbor_by_itself_and_serves_what_was_pushed_while_it_was_down,
    test_the_audit_of_a_converged_cluster_is_clean_and_changes_nothing, test_a_backup_restores_a_dropped_database_and_every_image_pulls_with_its_digest)
from shared_checks import assert_matrix_ok as shared_assert_matrix_ok
from shared_checks import (
    assert_compose_trimmed_and_running, assert_every_node_matches, assert_share_mounts_never_create_their_source,
    assert_site_stops_before_any_change, env_secrets_in_keyset, env_secrets_on, file_hashes_in_keyset, file_hashes_on,
    changed_tasks, haproxy_states, lb_steps, record_figure, sha256_on, storage_mount,
    archived_files, keyset_token_key, node_token, pulls_through_the_lb, rotation_archives, token_accepted, token_key_id)
from lab import env_file, recap

# env file (under common/config/) -> key -> key set file (secrets/<name>)
SECRET_KEYS = {
    'adminserver/env': {'UI_SECRET': 'core_secret', 'JOBSERVICE_SECRET': 'jobservice_secret'},
    'ui/env': {'UI_SECRET': 'core_secret', 'JOBSERVICE_SECRET': 'jobservice_secret'},
    'jobservice/env': {'UI_SECRET': 'core_secret', 'JOBSERVICE_SECRET': 'jobservice_secret'},
}
# Every file the role renders into common/config: identical on every node (nothing in them is per node).
RENDERED = ['adminserver/env', 'ui/env', 'ui/app.conf', 'jobservice/env', 'jobservice/config.yml',
            'registry/config.yml', 'nginx/nginx.conf', 'log/logrotate.conf']


def data_volume(lab):
    return lab.vars['harbor_data_volume'] or '/data'


def config_dir(lab):
    return lab.installer_dir() + '/common/config/'


def key_files(lab):
    """Where Harbor 1.x reads the shared keys -> key set file."""
    return {
        config_dir(lab) + 'ui/private_key.pem': 'token/private_key.pem',
        config_dir(lab) + 'registry/root.crt': 'token/root.crt',
        data_volume(lab) + '/secretkey': 'secrets/secretkey',
    }


def registry_config(lab, host):
    return yaml.safe_load(lab.host(host).file(config_dir(lab) + 'registry/config.yml').content_string)


def node_secrets(lab, host):
    found = env_secrets_on(lab, host, config_dir(lab), SECRET_KEYS)
    found['registry http.secret'] = registry_config(lab, host)['http']['secret']
    found.update(file_hashes_on(lab, host, key_files(lab)))
    return found


def expected_secrets(lab):
    expected = env_secrets_in_keyset(lab, SECRET_KEYS)
    expected['registry http.secret'] = lab.keyset_text('secrets/registry_http_secret')
    expected.update(file_hashes_in_keyset(lab, key_files(lab)))
    return expected


def assert_matrix_ok(lab):
    return shared_assert_matrix_ok(lab, harbor_api='v1')


# -- database helpers (PyMySQL from the controller, like the database role) -------------------------------

def lab_value(lab, name):
    if name not in lab.vars:
        lab.vars.update(lab.resolve(lab.nodes[0], [name]))
    return lab.vars[name]


@contextlib.contextmanager
def mysql(lab, admin=False, database=None):
    user = lab_value(lab, 'harbor_database_admin_user' if admin else 'harbor_database_username')
    password = lab_value(lab, 'harbor_database_admin_password' if admin else 'harbor_database_password')
    # The controller is outside the lab's DNS: it reaches the server where the database role does.
    conn = pymysql.connect(host=lab_value(lab, 'harbor_database_admin_host'), port=int(lab_value(lab, 'harbor_database_port')),
                           user=user, password=password, database=database, connect_timeout=10, autocommit=True)
    try:
        yield conn.cursor()
    finally:
        conn.close()


def harbor_db(lab):
    return lab_value(lab, 'harbor_database_name')


# -- storage ---------------------------------------------------------------------------------------------

def test_registry_storage_and_job_logs_are_on_the_share_owned_by_harbor(lab):
    mount_point = lab.vars['harbor_ceph_mount_point']
    for node in lab.nodes:
        services = lab.compose_file(node)['services']
        assert_share_mounts_never_create_their_source(lab, services)
        job_logs = [v['source'] for v in services['jobservice']['volumes'] if isinstance(v, dict) and v['target'] == '/var/log/jobs']
        assert len(job_logs) == 1 and job_logs[0].startswith(mount_point + '/'), job_logs
        assert storage_mount(services['jobservice'], job_logs[0])['bind']['create_host_path'] is False
        for path in (lab.vars['harbor_storage_path'], job_logs[0]):
            directory = lab.host(node).file(path)
            assert directory.is_directory and directory.uid == 10000, '%s %s' % (node, path)


# -- configuration ---------------------------------------------------------------------------------------

def test_every_node_holds_the_one_key_set_and_every_ha_secret(lab):
    assert_every_node_matches(lab, expected_secrets(lab), lambda node: node_secrets(lab, node))


def test_rendered_configuration_is_identical_on_every_node(lab):
    reference = {f: sha256_on(lab, lab.nodes[0], config_dir(lab) + f) for f in RENDERED}
    for node in lab.nodes[1:]:
        differing = [f for f in RENDERED if sha256_on(lab, node, config_dir(lab) + f) != reference[f]]
        assert not differing, '%s renders %s differently from %s' % (node, differing, lab.nodes[0])


def test_keys_are_owned_by_harbor_and_private(lab):
    for node in lab.nodes:
        for path in key_files(lab):
            f = lab.host(node).file(path)
            assert f.uid == 10000 and f.mode & 0o077 == 0, '%s %s: uid %s mode %o' % (node, path, f.uid, f.mode)
        for env_name in SECRET_KEYS:
            f = lab.host(node).file(config_dir(lab) + env_name)
            assert f.user == 'root' and f.mode & 0o077 == 0, '%s %s: %s %o' % (node, env_name, f.user, f.mode)
    assert len(open(lab.keyset_path('secrets/secretkey'), 'rb').read()) == 16


def test_harbor_cfg_is_the_record_and_prepare_is_never_needed(lab):
    for node in lab.nodes:
        host = lab.host(node)
        cfg = dict(re.findall(r'^(\w+) = (.*)$', host.file(lab.installer_dir() + '/harbor.cfg').content_string, re.M))
        assert cfg['customize_crt'] == 'off'
        assert cfg['hostname'] == lab.vars['harbor_hostname']
        assert cfg['ui_url_protocol'] == 'http'
        assert cfg['db_host'] == lab_value(lab, 'harbor_database_host')
        assert cfg['db_user'] == lab_value(lab, 'harbor_database_username')
        assert cfg['redis_url'].startswith('%s:%s,100,' % (lab_value(lab, 'harbor_redis_host'), lab_value(lab, 'harbor_redis_port')))
        assert cfg['secretkey_path'] == data_volume(lab)
        # 1.x prepare is a Python 2 script: current hosts cannot run it, the role renders common/config itself.
        prepare = host.run('cd %s && ./prepare --help', lab.installer_dir())
        assert prepare.rc != 0 and 'requires Python 2' in prepare.stderr, prepare.stderr


def test_adminserver_env_reaches_mysql_and_reloads_only_on_change(lab):
    values = [env_file(lab.host(n).file(config_dir(lab) + 'adminserver/env').content_string) for n in lab.nodes]
    env = values[0]
    assert env['DATABASE_TYPE'] == 'mysql'
    assert env['MYSQL_HOST'] == lab_value(lab, 'harbor_database_host')
    assert env['MYSQL_PORT'] == str(lab_value(lab, 'harbor_database_port'))
    assert env['MYSQL_USR'] == lab_value(lab, 'harbor_database_username')
    assert env['MYSQL_DATABASE'] == harbor_db(lab)
    assert env['RESET'] == 'true'
    assert env['EXT_ENDPOINT'] == 'http://' + lab.vars['harbor_hostname']
    assert re.match(r'^[0-9a-f]{16}$', env['RELOAD_KEY'])
    assert len({v['RELOAD_KEY'] for v in values}) == 1, 'RELOAD_KEY differs between nodes'
    # The adminserver stored that RELOAD_KEY: restarts after the first start keep the stored configuration.
    with mysql(lab, database=harbor_db(lab)) as cur:
        cur.execute("SELECT v FROM properties WHERE k = 'reload_key'")
        assert cur.fetchone()[0] == env['RELOAD_KEY']
        cur.execute("SELECT v FROM properties WHERE k = 'mysql_password'")
        assert cur.fetchone()[0].startswith('<enc-v1>'), 'the adminserver did not encrypt with the shared secretkey'


def test_registry_checks_tokens_against_the_shared_root_crt_and_uses_redis(lab):
    config = registry_config(lab, lab.nodes[0])
    token = config['auth']['token']
    assert token['issuer'] == 'harbor-token-issuer' and token['service'] == 'harbor-registry'
    assert token['realm'] == 'http://%s/service/token' % lab.vars['harbor_hostname']
    assert token['rootcertbundle'] == '/etc/registry/root.crt'
    assert config['storage']['filesystem']['rootdirectory'] == '/storage'
    assert config['redis']['addr'] == '%s:%s' % (lab_value(lab, 'harbor_redis_host'), lab_value(lab, 'harbor_redis_port'))
    assert config['redis']['password'] == lab_value(lab, 'harbor_redis_password')
    assert config['http']['secret'] != 'placeholder'


def test_compose_file_is_trimmed_and_valid(lab):
    for node in lab.nodes:
        services = assert_compose_trimmed_and_running(lab, node, ('mysql', 'redis'))
        assert set(services) == {'log', 'registry', 'adminserver', 'ui', 'jobservice', 'proxy'}, sorted(services)
        for name, service in services.items():
            if name != 'log':
                assert service['logging']['driver'] == 'syslog', name
                # The log collector's fixed address on the compose network (harbor_compose_subnet + 10): the engine
                # reattaches the components there after a live-restore.
                assert service['logging']['options']['syslog-address'] == 'tcp://172.31.254.10:10514', name
        assert services['log']['networks']['harbor']['ipv4_address'] == '172.31.254.10'


# -- login -----------------------------------------------------------------------------------------------

def test_every_node_accepts_every_nodes_token(lab):
    result = assert_matrix_ok(lab)
    assert all(n['healthy'] and n['token_ok'] and n['api_version'] == 'v1' for n in result['nodes']), result['nodes']
    assert result['endpoint']['ok'], result['endpoint']


def test_the_client_trusts_the_plain_http_registry_through_insecure_registries(lab):
    daemon = json.loads(lab.host(lab.clients[0]).file('/etc/docker/daemon.json').content_string)
    assert lab.vars['harbor_hostname'] in daemon.get('insecure-registries', []), daemon


def test_a_ui_session_made_on_one_node_is_accepted_by_the_others(lab):

    def base(node):
        return 'http://%s' % lab.address(node)

    login = requests.post(base(lab.nodes[0]) + '/login', data={'principal': 'admin', 'password': lab.vars['harbor_admin_password']},
                          timeout=10)
    assert login.status_code == 200, login.text
    cookies = dict(login.cookies)
    assert cookies, login.headers
    for node in lab.nodes[1:]:
        current = requests.get(base(node) + '/api/users/current', cookies=cookies, timeout=10)
        assert current.status_code == 200 and current.json()['username'] == 'admin', '%s: %s' % (node, current.text)
    assert requests.post(base(lab.nodes[-1]) + '/log_out', cookies=cookies, timeout=10).status_code == 200
    assert requests.get(base(lab.nodes[0]) + '/api/users/current', cookies=cookies, timeout=10).status_code == 401


# -- database --------------------------------------------------------------------------------------------

def test_schema_was_loaded_exactly_once_at_version_1_5_0(lab):
    with mysql(lab, admin=True, database=harbor_db(lab)) as cur:
        cur.execute('SELECT version_num FROM alembic_version')
        assert cur.fetchall() == (('1.5.0',),)
        cur.execute("SELECT COUNT(*) FROM `user` WHERE username = 'admin'")
        assert cur.fetchone()[0] == 1
        # registry.sql inserts one admin row: a second load would have failed or duplicated the seed data.
        cur.execute('SELECT COUNT(*) FROM role')
        roles = cur.fetchone()[0]
    rc, out = lab.playbook('site', '--tags', 'database')
    assert rc == 0, out[-3000:]
    assert all(c['changed'] == 0 for c in recap(out).values()), recap(out)
    with mysql(lab, admin=True, database=harbor_db(lab)) as cur:
        cur.execute('SELECT COUNT(*) FROM role')
        assert cur.fetchone()[0] == roles


def test_a_database_at_another_schema_version_stops_the_play(lab):
    with mysql(lab, admin=True, database=harbor_db(lab)) as cur:
        cur.execute("UPDATE alembic_version SET version_num = '1.4.0'")
    try:
        rc, out = lab.playbook('site', '--tags', 'database')
        assert rc != 0, 'the play accepted alembic_version 1.4.0'
        assert 'holds Harbor schema version 1.4.0' in out and 'database_mysql_expected_schema_version is 1.5.0' in out, out[-3000:]
        assert all(c['changed'] == 0 for c in recap(out).values()), recap(out)
    finally:
        with mysql(lab, admin=True, database=harbor_db(lab)) as cur:
            cur.execute("UPDATE alembic_version SET version_num = '1.5.0'")


def test_the_harbor_user_cannot_touch_another_database(lab):
    other = 'verifyother%s' % uuid.uuid4().hex[:6]
    with mysql(lab, admin=True) as cur:
        cur.execute('CREATE DATABASE `%s`' % other)
        cur.execute('CREATE TABLE `%s`.t (i int)' % other)
    try:
        with mysql(lab) as cur:
            for sql in ('SELECT * FROM `%s`.t' % other, 'INSERT INTO `%s`.t VALUES (1)' % other,
                        'DROP TABLE `%s`.t' % other, 'CREATE DATABASE `%sx`' % other, 'SELECT * FROM mysql.user'):
                with pytest.raises(pymysql.err.OperationalError) as denied:
                    cur.execute(sql)
                assert denied.value.args[0] in (1044, 1142, 1227), '%s: %s' % (sql, denied.value)
            cur.execute('SELECT COUNT(*) FROM `%s`.alembic_version' % harbor_db(lab))
            assert cur.fetchone()[0] == 1
    finally:
        with mysql(lab, admin=True) as cur:
            cur.execute('DROP DATABASE IF EXISTS `%s`' % other)


# -- bad input stops the play before anything is touched ------------------------------------------------

@pytest.mark.parametrize('extra, expected', [
    ({'harbor_admin_password': 'Harbor12345'}, 'harbor_admin_password is Harbor'),
    ({'harbor_database_port': 3999}, '3999'),  # nothing listens there: the database is unreachable
    # The controller without the client the schema import runs (the role's own name for it, pointed elsewhere).
    ({'__database_mysql_import_client': 'mysql-not-installed'}, 'runs the `mysql-not-installed` command-line client'),
])
def test_bad_input_stops_the_play_before_any_change(lab, extra, expected):
    assert_site_stops_before_any_change(lab, extra, expected)


# -- a change that makes a node unhealthy is rolled back -------------------------------------------------

def test_a_change_that_makes_a_node_unhealthy_rolls_that_node_back_while_pulls_keep_working(lab):
    """Issue 10 item 3 on Harbor 1.5: the first node restarted with a bad value is put back on its previous
    configuration, serves again, and the play fails naming the node and quoting the component's error line.

    The bad value: `harbor_legacy_config: {LDAP_SCOPE: subtree}`, the LDAP word for what Harbor 1.5 takes as a
    number (0 base, 1 one level, 2 subtree). harbor_legacy_config passes adminserver settings through as Harbor
    1.5 env keys; no preflight knows every key's type, harbor.cfg carries the value as text, and only the adminserver
    finds out, at start: the changed RELOAD_KEY makes it load every key, and it stops with `failed to initialize the
    system` (Harbor 1.5's adminserver: strconv.Atoi on LDAP_SCOPE). The ui waits for it, /api/systeminfo never
    answers. harbor_health_timeout is 60 s here (default 300) so that the test waits one minute for the verdict.
    A client pulls through the load balancer during the bad run and the repairing run; none of its pulls fail."""
    first, others = lab.nodes[0], lab.nodes[1:]
    client = lab.host(lab.clients[0])
    name = lab.vars['harbor_hostname']
    record = [lab.installer_dir() + '/common/config/adminserver/env', lab.installer_dir() + '/harbor.cfg']
    marker = (lab.vars['harbor_install_dir'] or '/opt/harbor') + '/restart-pending'
    started = "docker inspect -f '{{.Name}} {{.State.StartedAt}}' harbor-adminserver harbor-ui harbor-jobservice registry nginx"

    tag = uuid.uuid4().hex[:8]
    image = '%s/library/rollback:%s' % (name, tag)
    client.check_output("printf %%s %s > /var/tmp/payload && tar -C /var/tmp -c payload | docker import - %s", tag, image)
    assert client.run('echo %s | docker login -u admin --password-stdin %s', lab.vars['harbor_admin_password'], name).rc == 0
    assert client.run('docker push %s', image).rc == 0
    before = {n: [sha256_on(lab, n, path) for path in record] for n in lab.nodes}
    starts = {n: lab.host(n).check_output(started) for n in lab.nodes}
    loop = ('rm -f /var/tmp/pulls /var/tmp/pulls.stop; while [ ! -e /var/tmp/pulls.stop ]; do docker rmi -f %s >/dev/null 2>&1; '
            'if docker pull %s >/dev/null 2>&1; then echo ok; else echo failed; fi >> /var/tmp/pulls; done' % (image, image))
    client.check_output('nohup sh -c %s >/dev/null 2>&1 &', loop)
    try:
        bad = json.dumps({'harbor_legacy_config': {'LDAP_SCOPE': 'subtree'}, 'harbor_health_timeout': 60})
        rc, out = lab.playbook('site', '--tags', 'harbor', '-e', bad)
        rolled_back = {n: lab.host(n).check_output(started) for n in lab.nodes}
        # Right after its enable a server shows 'UP 1/2' until its next check passes (inter 1 s).
        deadline = time.time() + 15
        while set(haproxy_states(lab).values()) != {'UP'} and time.time() < deadline:
            time.sleep(1)
        states_after_rollback = haproxy_states(lab)
        hashes_after_rollback = {n: [sha256_on(lab, n, path) for path in record] for n in lab.nodes}
        markers_after_rollback = {n: lab.host(n).file(marker).exists for n in lab.nodes}
        rc_repair, out_repair = lab.playbook('site', '--tags', 'harbor')
    finally:
        client.run('touch /var/tmp/pulls.stop')
    time.sleep(3)

    # The play failed on the first node, with the node's own words, and went no further.
    assert rc != 0, out[-3000:]
    failure = [line for line in out.splitlines()
               if line.startswith('fatal: ') and 'was rolled back to its previous configuration and serves again' in line]
    assert len(failure) == 1 and failure[0].startswith('fatal: [%s]' % first), out[-5000:]
    assert "adminserver [" in failure[0] and 'failed to initialize the system' in failure[0] and 'subtree' in failure[0], failure[0]
    assert lab.vars['harbor_admin_password'] not in out
    assert lb_steps(out) == [first, first], lb_steps(out)  # drained, then enabled again after the rollback
    assert recap(out)[first]['failed'] == 1 and all(recap(out)[n]['failed'] == 0 for n in others), recap(out)
    # Only the first node restarted; it serves its previous configuration again, back in the load balancer.
    assert all(rolled_back[n] == starts[n] for n in others), 'a node other than %s was restarted' % first
    assert rolled_back[first] != starts[first]
    assert hashes_after_rollback[first] == before[first], 'the first node does not hold its previous configuration'
    assert all(hashes_after_rollback[n] != before[n] for n in others), 'the bad value was not rendered on the other nodes'
    # The first node runs what is on disk again; the others were only rendered and wait for their restart.
    assert markers_after_rollback == dict({first: False}, **{n: True for n in others}), markers_after_rollback
    assert set(states_after_rollback.values()) == {'UP'}, states_after_rollback

    # A normal run puts the inventory's configuration back: the first node has nothing to change, the others
    # restart once, one at a time.
    assert rc_repair == 0, out_repair[-3000:]
    counts = recap(out_repair)
    assert all(counts[n]['changed'] > 0 for n in others), counts
    # Nothing of the first node's Harbor configuration changes; only its boot unit, whose start timeout follows
    # harbor_health_timeout (60 s in the bad run), goes back.
    assert all('systemd unit' in task for task in changed_tasks(out_repair, first)), changed_tasks(out_repair, first)
    assert lb_steps(out_repair) == [n for n in others for dummy in (0, 1)], lb_steps(out_repair)
    repaired = {n: lab.host(n).check_output(started) for n in lab.nodes}
    assert repaired[first] == rolled_back[first] and all(repaired[n] != starts[n] for n in others), repaired
    assert {n: [sha256_on(lab, n, path) for path in record] for n in lab.nodes} == before
    assert not any(lab.host(n).file(marker).exists for n in lab.nodes)
    assert set(haproxy_states(lab).values()) == {'UP'}, haproxy_states(lab)
    pulls = client.check_output('cat /var/tmp/pulls').split()
    figures = 'rollback (1.5, bad run + repairing run): %d pulls through the LB, %d failed' % (len(pulls), pulls.count('failed'))
    record_figure(lab, figures)
    assert pulls and pulls.count('failed') == 0, figures
    client.run('docker rmi %s', image)
    assert_matrix_ok(lab)


# -- token key rotation behind HAProxy in http mode ------------------------------------------------------------

def test_a_token_key_rotation_behind_the_http_mode_lb_switches_every_node_to_the_new_key_while_pulls_keep_working(lab):
    """playbooks/rotate_token_key.yml on Harbor 1.5, the same switch-over as on 2.x (every node but the first gets the
    new pair while drained, one HAProxy command hands them the traffic, the first node switches last), here with
    HAProxy in http mode and the registry checking tokens against root.crt. A client pulls through the LB the whole
    time: only a pull in flight at the switch-over instant may fail (its token, of the old key, reaches a node of the
    new one); the count is recorded."""
    before = rotation_archives(lab, 'token', ())
    old_key = keyset_token_key(lab)
    addresses = {n: lab.address(n) for n in lab.nodes}
    old_token = node_token(lab, addresses[lab.nodes[-1]], 'token-key')
    assert all(token_accepted(lab, a, old_token) for a in addresses.values())
    start = time.time()
    with pulls_through_the_lb(lab, 'token-key') as pulls:
        rc, out = lab.playbook('rotate_token_key.yml')
    seconds = round(time.time() - start)
    assert rc == 0, out[-5000:]
    switch = float(re.search(r'Switched over at ([0-9.]+)', out).group(1))
    record_figure(lab, 'token key rotation (1.5, HAProxy in http mode, %d nodes): %d s, pulls through the LB meanwhile: '
                  '%d ok, %d failed (in flight at the switch-over)' % (len(lab.nodes), seconds, pulls['ok'], pulls['failed']))
    assert [p for p in pulls['pulls'] if p[0] == 'failed' and not p[1] <= switch <= p[2]] == [], (switch, pulls['pulls'])
    assert pulls['failed'] <= 1 and pulls['ok'] > 0, pulls
    # Every node signs with one new key and checks with its certificate alone: the old key's token is refused.
    kids = {n: token_key_id(node_token(lab, a, 'token-key')) for n, a in addresses.items()}
    assert len(set(kids.values())) == 1 and kids[lab.nodes[0]] != token_key_id(old_token), kids
    assert [n for n, a in addresses.items() if token_accepted(lab, a, old_token)] == []
    # Every node holds the key set's new pair.
    assert_every_node_matches(lab, file_hashes_in_keyset(lab, key_files(lab)), lambda node: file_hashes_on(lab, node, key_files(lab)))
    archives = rotation_archives(lab, 'token', before, holding=old_key)
    assert len(archives) == 1 and set(archived_files(archives[0])) == {'private_key.pem', 'root.crt'}
    assert_matrix_ok(lab)


# -- a wrong credential stops site.yml in preflight (from every node, Harbor 1.5: MariaDB) --------------------

@pytest.mark.parametrize('variable, value, expected', [
    ('harbor_redis_password', 'Wrong-redis-pw:#1', ': Redis refused the password in harbor_redis_password'),
    ('harbor_database_password', 'Wrong-db-pw:#1', ': MySQL/MariaDB refused the password in harbor_database_password'),
])
def test_a_wrong_credential_stops_site_yml_in_preflight_naming_variable_and_node(lab, variable, value, expected):
    """The credentials are tried from every node before anything changes (role preflight, module service_login):
    the Harbor user's MariaDB login (nodes that run Harbor already) and Redis AUTH + SELECT of each index."""
    assert_site_stops_before_any_change(lab, {variable: value}, lab.nodes[0] + expected)
