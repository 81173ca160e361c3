"""Helpers for the molecule verify tests: reach lab hosts, run the collection's playbooks and modules.

Shared by every scenario (default = Harbor 2.x, legacy = Harbor 1.5). Nothing here asserts: the tests do.
"""

import json
import os
import pathlib
import re
import subprocess

import testinfra
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]


class Lab(object):
    def __init__(self, scenario):
        self.scenario = scenario
        self.inventory = os.environ.get('MOLECULE_INVENTORY_FILE')
        if not self.inventory:
            raise RuntimeError('run these tests through molecule verify (MOLECULE_INVENTORY_FILE is not set)')
        self.vars = self.inventory_vars()
        self.nodes = self.vars['__groups']['harbor_nodes']
        self.clients = self.vars['__groups']['registry_clients']

    # -- inventory -----------------------------------------------------------------------------------------
    def inventory_vars(self):
        """Resolved variables of the first harbor node plus the group layout (ansible-inventory is exact)."""
        out = subprocess.run([str(REPO / '.venv/bin/ansible-inventory'), '-i', self.inventory, '--list'],
                             check=True, capture_output=True, text=True, cwd=str(REPO)).stdout
        data = json.loads(out)
        groups = {g: data.get(g, {}).get('hosts', []) for g in ('harbor_nodes', 'harbor_lb', 'registry_clients', 'lab_services')}
        result = self.resolve(groups['harbor_nodes'][0], [
            'harbor_version', 'harbor_hostname', 'harbor_admin_password', 'harbor_keyset_dir', 'harbor_tls_mode',
            'harbor_install_dir', 'harbor_data_volume', 'harbor_storage_path', 'harbor_ceph_mount_point',
            'harbor_verify_endpoint'])
        result['__groups'] = groups
        result['__hostvars'] = data.get('_meta', {}).get('hostvars', {})
        return result

    def resolve(self, host, names):
        """Templated values of variables for a host, as the playbooks see them."""
        args = json.dumps({'msg': {n: '{{ %s | default(None) }}' % n for n in names}})
        res = self.adhoc(host, 'ansible.builtin.debug', args)
        return res['msg']

    def address(self, host):
        return self.vars['__hostvars'][host]['harbor_node_address']

    # -- running the collection ----------------------------------------------------------------------------
    def env(self):
        env = dict(os.environ)
        collections = '%s:%s' % (REPO / 'build/collections', REPO / '.venv/lib/python3.11/site-packages')
        env.setdefault('ANSIBLE_COLLECTIONS_PATH', collections)
        env['ANSIBLE_FORCE_COLOR'] = '0'
        env['ANSIBLE_NOCOLOR'] = '1'
        return env

    def playbook(self, playbook, *args):
        """Runs a playbook of the collection against the lab; returns (rc, output)."""
        cmd = [str(REPO / '.venv/bin/ansible-playbook'), '-i', self.inventory,
               str(REPO / 'molecule' / self.scenario / 'converge.yml') if playbook == 'site' else str(REPO / 'playbooks' / playbook)]
        cmd += list(args)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env(), cwd=str(REPO), check=False)
        return proc.returncode, proc.stdout + proc.stderr

    def adhoc(self, host, module, args):
        """Runs one module on one host; returns its result dict."""
        env = self.env()
        env['ANSIBLE_LOAD_CALLBACK_PLUGINS'] = '1'
        env['ANSIBLE_STDOUT_CALLBACK'] = 'ansible.builtin.json'
        cmd = [str(REPO / '.venv/bin/ansible'), host, '-i', self.inventory, '-m', module, '-a', args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO), check=False)
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError('ansible %s -m %s printed no JSON: %s %s' % (host, module, proc.stdout, proc.stderr))
        return data['plays'][0]['tasks'][0]['hosts'][host]

    def login_matrix(self, **extra):
        """The login_matrix module from the controller against every node and the load balancer."""
        tls = self.vars['harbor_tls_mode'] != 'none'
        scheme = 'https' if tls else 'http'
        args = {
            'nodes': [{'name': n, 'url': '%s://%s' % (scheme, self.address(n))} for n in self.nodes],
            'endpoint': self.vars['harbor_verify_endpoint'],
            'registry_host': self.vars['harbor_hostname'],
            'password': self.vars['harbor_admin_password'],
            'fail_on_error': False,
        }
        if tls:
            args['ca_path'] = self.keyset_path('tls/ca.crt')
        args.update(extra)
        return self.adhoc('localhost', 'registryops.harbor_ha.login_matrix', json.dumps(args))

    # -- hosts ---------------------------------------------------------------------------------------------
    @staticmethod
    def host(name):
        """The test harness's own look into a lab host: `docker exec`, independent of what is under test. The
        collection's playbooks and modules (playbook(), adhoc()) go through the molecule inventory: SSH, like
        production."""
        return testinfra.get_host('docker://' + name)

    def keyset_path(self, relative):
        return str(pathlib.Path(self.vars['harbor_keyset_dir']) / relative)

    def keyset_text(self, relative):
        return pathlib.Path(self.keyset_path(relative)).read_text().rstrip('\n')

    def installer_dir(self):
        return '%s/v%s/harbor' % (self.vars['harbor_install_dir'] or '/opt/harbor', self.vars['harbor_version'])

    def compose(self, host, *args):
        """docker compose on a node, in its installer directory."""
        return self.host(host).run('cd %s && docker compose %s' % (self.installer_dir(), ' '.join(args)))

    def compose_file(self, host):
        return yaml.safe_load(self.host(host).file(self.installer_dir() + '/docker-compose.yml').content_string)


def recap(output):
    """PLAY RECAP lines as {host: {ok: n, changed: n, failed: n, ...}}."""
    result = {}
    for match in re.finditer(r'^(\S+)\s+:\s+(ok=\d+.*)$', output, re.M):
        result[match.group(1)] = {k: int(v) for k, v in (c.split('=') for c in match.group(2).split())}
    return result


COMPOSE_ESCAPES = {'n': '\n', '\\': '\\', '"': '"', '$': '$'}


def env_file(text):
    """KEY=VALUE lines as Compose v2 hands them to the container, for the two forms found on the nodes: bare
    (what prepare writes) and double-quoted with backslash escapes (what the role writes, filter env_file_value)."""
    values = {}
    for line in text.splitlines():
        if '=' in line and not line.lstrip().startswith('#'):
            key, dummy, value = line.partition('=')
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = re.sub(r'\\(.)', lambda m: COMPOSE_ESCAPES.get(m.group(1), '\\' + m.group(1)), value[1:-1])
            values[key.strip()] = value
    return values
