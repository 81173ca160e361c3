# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the roles render that no lab scenario exercises, rendered by ansible-playbook on the controller (no lab).

- loadbalancer: the keepalived VIP configuration (the labs run one HAProxy, no VRRP). The role's real template is
  rendered from the role's own defaults and vars and checked by keepalived's own parser (`keepalived -t`, nothing
  is started), as the role's template task does on a load balancer.
- database: the Harbor 1.x registry.sql as the role stages it for import. registry.sql drops and creates the
  database `registry`; the role removes the drop and points the create and the `use` at database_name. The labs
  use the name `registry`, where a missing rewrite of create/use would go unnoticed; here the role's own staging
  expression runs with another name.
"""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from playbook_env import ansible_env

REPO = pathlib.Path(__file__).resolve().parents[2]
LOADBALANCER = REPO / 'roles' / 'loadbalancer'
DATABASE_SCHEMA_TASKS = REPO / 'roles' / 'database' / 'tasks' / 'schema_mysql.yml'
STAGE_TASK = 'Stage registry.sql rewritten for the Harbor database name'
# The double's registry.sql, shaped like Harbor 1.5's (drop, create, use, then the tables).
REGISTRY_SQL = REPO / 'tests' / 'harbor_double' / 'images' / 'rootfs' / 'docker-entrypoint-initdb.d' / 'registry.sql'
# The spellings the role's rewrite accepts besides Harbor 1.5's own.
REGISTRY_SQL_VARIANT = ('DROP DATABASE IF EXISTS `registry`;\n'
                        'CREATE DATABASE IF NOT EXISTS `registry` DEFAULT CHARACTER SET utf8;\n'
                        '  USE `registry` ;\n'
                        'create table t (i int);\n')


def _run_play(work, play, inventory_host='localhost'):
    (work / 'play.yml').write_text(yaml.safe_dump([play], sort_keys=False))
    proc = subprocess.run([str(pathlib.Path(sys.executable).parent / 'ansible-playbook'), '-i', inventory_host + ',',
                           '-c', 'local', 'play.yml'],
                          cwd=str(work), env=ansible_env(), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, 'ansible-playbook failed (rc %s)\n%s\n%s' % (proc.returncode, proc.stdout, proc.stderr)


# -- loadbalancer: keepalived VIP -------------------------------------------------------------------------

KEEPALIVED = shutil.which('keepalived') or '/usr/sbin/keepalived'
LB_HOST = 'lb-1.example'
VIP_CASES = {
    # a pair of load balancers reaching each other by unicast, with VRRP authentication
    'unicast_auth': {'loadbalancer_vip_priority': 150, 'loadbalancer_vip_auth_pass': 'lab-vrrp',
                     'loadbalancer_vip_unicast_peers': ['192.0.2.21', '192.0.2.22']},
    # the role's defaults: multicast, no authentication
    'defaults': {},
    # a value keepalived refuses (the role's preflight does too): proves that the check below can fail
    'router_id_out_of_range': {'loadbalancer_vip_router_id': 256},
}


def _vip_interface():
    """An interface keepalived accepts on this machine: not loopback, present (the default route's if any)."""
    route = subprocess.run(['ip', '-o', '-4', 'route', 'show', 'default'], capture_output=True, text=True, check=False)
    match = re.search(r'\bdev (\S+)', route.stdout)
    if match:
        return match.group(1)
    names = sorted(n for n in os.listdir('/sys/class/net') if n != 'lo')
    assert names, 'no network interface but lo on this machine: keepalived cannot check a VRRP instance'
    return names[0]


@pytest.fixture(scope='module', name='keepalived_confs')
def fixture_keepalived_confs(tmp_path_factory):
    """keepalived.conf rendered by the role's template for every VIP_CASES entry: {case: path}."""
    if not os.path.exists(KEEPALIVED):
        pytest.fail('keepalived is missing (its config check runs here): run hack/bootstrap.sh')
    work = tmp_path_factory.mktemp('keepalived')
    (work / 'templates').symlink_to(LOADBALANCER / 'templates')
    inputs = {'loadbalancer_vip_address': '192.0.2.10', 'loadbalancer_vip_interface': _vip_interface()}
    (work / 'inputs.json').write_text(json.dumps(inputs))
    play = {
        'name': "Render the loadbalancer role's keepalived template", 'hosts': 'all', 'gather_facts': False,
        'vars_files': [str(LOADBALANCER / 'defaults' / 'main.yml'), str(work / 'inputs.json'),
                       str(LOADBALANCER / 'vars' / 'main.yml')],
        'tasks': [{'name': 'Render keepalived.conf for ' + case,
                   'ansible.builtin.template': {'src': 'keepalived.conf.j2', 'dest': str(work / (case + '.conf')), 'mode': '0600'},
                   'vars': case_vars} for case, case_vars in VIP_CASES.items()],
    }
    _run_play(work, play, inventory_host=LB_HOST)
    return {case: work / (case + '.conf') for case in VIP_CASES}


def _keepalived_check(path):
    return subprocess.run([KEEPALIVED, '-t', '-f', str(path)], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize('case', ['unicast_auth', 'defaults'])
def test_keepalived_accepts_the_rendered_vip_configuration(keepalived_confs, case):
    check = _keepalived_check(keepalived_confs[case])
    assert check.returncode == 0, '%s: keepalived -t refused it (rc %s)\n%s%s\n%s' % (
        case, check.returncode, check.stdout, check.stderr, keepalived_confs[case].read_text())


def test_keepalived_check_refuses_a_bad_value(keepalived_confs):
    check = _keepalived_check(keepalived_confs['router_id_out_of_range'])
    assert check.returncode != 0, 'keepalived -t accepted virtual_router_id 256: the check proves nothing'
    assert '256' in check.stdout + check.stderr


def test_the_vip_follows_haproxy_on_the_configured_interface(keepalived_confs):
    text = keepalived_confs['unicast_auth'].read_text()
    interface = _vip_interface()
    assert re.search(r'^\s*192\.0\.2\.10/24 dev %s$' % re.escape(interface), text, re.M), text
    assert re.search(r'^\s*interface %s$' % re.escape(interface), text, re.M), text
    assert re.search(r'^\s*router_id lb-1\.example$', text, re.M), text
    assert re.search(r'^\s*virtual_router_id 51$', text, re.M) and re.search(r'^\s*priority 150$', text, re.M), text
    assert re.search(r'^\s*auth_pass lab-vrrp$', text, re.M), text
    assert re.search(r'unicast_peer \{\s*192\.0\.2\.21\s+192\.0\.2\.22\s*\}', text), text
    # The VIP moves away from a host whose HAProxy is down.
    assert 'script "/usr/bin/systemctl is-active --quiet haproxy.service"' in text
    assert re.search(r'track_script \{\s*chk_haproxy\s*\}', text), text
    defaults = keepalived_confs['defaults'].read_text()
    assert 'authentication' not in defaults and 'unicast_peer' not in defaults, defaults


# -- database: registry.sql staged for another database name -----------------------------------------------

def _find_task(tasks, name):
    for task in tasks or []:
        if task.get('name') == name:
            return task
        for key in ('block', 'rescue', 'always'):
            found = _find_task(task.get(key), name)
            if found:
                return found
    return None


@pytest.fixture(scope='module', name='staged_sql')
def fixture_staged_sql(tmp_path_factory):
    """The role's staging expression (its task's copy content), run by ansible: {(source, database_name): text}."""
    task = _find_task(yaml.safe_load(DATABASE_SCHEMA_TASKS.read_text()), STAGE_TASK)
    assert task, 'no task %r in %s: update this test with the role' % (STAGE_TASK, DATABASE_SCHEMA_TASKS)
    content = task['ansible.builtin.copy']['content']
    work = tmp_path_factory.mktemp('schema')
    (work / 'variant.sql').write_text(REGISTRY_SQL_VARIANT)
    sources = {'harbor': REGISTRY_SQL, 'variant': work / 'variant.sql'}
    results = {}
    tasks = []
    for source, path in sources.items():
        for name in ('harborreg', 'registry'):
            out = work / ('%s-%s.sql' % (source, name))
            results[(source, name)] = out
            tasks.append({'name': 'Stage %s for %s' % (source, name),
                          'ansible.builtin.copy': {'content': content, 'dest': str(out), 'mode': '0600'},
                          'vars': {'database_mysql_schema_file': str(path), 'database_name': name}})
    _run_play(work, {'name': "Run the database role's registry.sql staging", 'hosts': 'all', 'gather_facts': False,
                     'tasks': tasks})
    return {key: path.read_text() for key, path in results.items()}


@pytest.mark.parametrize('source', ['harbor', 'variant'])
@pytest.mark.parametrize('name', ['harborreg', 'registry'])
def test_registry_sql_is_staged_for_database_name_without_its_drop(staged_sql, source, name):
    original = (REGISTRY_SQL.read_text() if source == 'harbor' else REGISTRY_SQL_VARIANT).splitlines()
    staged = staged_sql[(source, name)].splitlines()
    assert not [line for line in staged if re.match(r'(?i)\s*drop\s+database\b', line)], staged[:5]
    creates = [line for line in staged if re.match(r'(?i)\s*create\s+database\b', line)]
    uses = [line for line in staged if re.match(r'(?i)\s*use\s', line)]
    assert len(creates) == 1 and creates[0].startswith('CREATE DATABASE IF NOT EXISTS `%s`' % name), creates
    # The rest of the create statement (the character set) is kept.
    assert creates[0].endswith(';') and 'utf8' in creates[0], creates
    assert uses == ['USE `%s`;' % name], uses
    # Nothing else changes: same number of lines, and only the drop, create and use lines differ.
    assert len(staged) == len(original)
    changed = [(old, new) for old, new in zip(original, staged) if old != new]
    assert changed and all(re.match(r'(?i)\s*((drop|create)\s+database|use)\s', old) for old, dummy in changed), changed
