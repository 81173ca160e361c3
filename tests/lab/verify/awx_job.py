"""Run a playbook of the project the way AWX runs a job template (docs/awx.md, "How the lab runs jobs like AWX").

AWX itself cannot run here (no Kubernetes, no operator images); what it does for a job is modelled with the parts it
uses, ansible-runner and the execution environment image (hack/ee-image.sh):
- a fresh private data directory per job: the project (the repository's files, as a checkout has them), the
  inventory as AWX hands it to a job (a script printing the JSON of `ansible-inventory --list --export` of the synced
  source, here the lab's inventory without its secrets and with the paths a job container sees), the credentials
  injected as AWX injects them: the Machine credential's key as env/ssh_key (ansible-runner adds it to an ssh-agent),
  the "Harbor HA secrets" credential type's injectors (awx/vars/controller.yml) as env/extravars, each value !unsafe;
- `ansible-runner run --process-isolation` in the EE image with docker, on the lab's network;
- the key set home and the controller files as volumes: AWX's "Paths to expose to isolated jobs"
  (AWX_ISOLATION_SHOW_PATHS) or a container group's volume.
Nothing here asserts: the tests do.
"""

import json
import os
import pathlib
import shutil
import subprocess
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
EE_IMAGE = os.environ.get('HARBOR_AWX_EE_IMAGE', 'harbor-ha-lab/ee:latest')
# Where a job container finds the key set and the controller files (docs/awx.md).
KEYSET_HOME = '/var/lib/harbor-ha/keyset'
FILES_HOME = '/var/lib/harbor-ha/files'

# The "Harbor HA secrets" credential's inputs and the variables its injectors set (awx/vars/controller.yml).
SECRET_VARIABLES = ['harbor_admin_password', 'harbor_database_password', 'harbor_database_admin_password',
                    'harbor_redis_password', 'harbor_ceph_client_key']
# Machine-local SSH settings of the lab's inventory (molecule's connection options): a job container has none of
# these paths; AWX's Machine credential gives the key through ssh-agent instead.
SSH_LOCAL = ['ansible_ssh_private_key_file', 'lab_ssh_dir', 'ansible_control_path_dir', 'ansible_ssh_common_args']


class _Unsafe(str):
    """A value AWX writes as `!unsafe` (credential injections), so Ansible never templates it."""


class _Dumper(yaml.SafeDumper):  # pylint: disable=too-many-ancestors
    pass


_Dumper.add_representer(_Unsafe, lambda dumper, value: dumper.represent_scalar('!unsafe', str(value)))


def _is_secret(name):
    return (name.startswith('vault_') or name in SECRET_VARIABLES
            or (name.startswith('lab_') and ('password' in name or name.endswith('_key'))))


class AwxJobs(object):
    """Jobs of one lab: lab is tests/lab/verify/lab.py's Lab; root a fresh directory for the jobs' data dirs."""

    def __init__(self, lab, root, network):
        self.lab = lab
        self.root = pathlib.Path(root)
        self.network = network
        self.count = 0
        first = lab.resolve(lab.nodes[0], SECRET_VARIABLES + [
            'ansible_ssh_private_key_file', 'harbor_installer_path', 'harbor_database_schema_file',
            'docker_engine_compose_plugin_src'])
        self.secrets = {name: first[name] for name in SECRET_VARIABLES}
        self.ssh_key = pathlib.Path(first['ansible_ssh_private_key_file']).read_text()
        self.controller_files = {name: first[name] for name in (
            'harbor_installer_path', 'harbor_database_schema_file', 'docker_engine_compose_plugin_src') if first[name]}

    # -- the private data directory ----------------------------------------------------------------------
    def _project(self, dest):
        """The project as AWX's project update leaves it: the repository's files (tracked and new, not ignored)."""
        files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                               check=True, capture_output=True, cwd=str(REPO)).stdout.decode().split('\0')
        for name in filter(None, files):
            src = REPO / name
            if src.is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(str(src), str(dest / name))

    def _inventory(self):
        """`ansible-inventory --list --export` of the lab's inventory as AWX's inventory sync would store it: no
        secret (they come from the credential), the controller paths as a job container sees them."""
        out = subprocess.run([str(REPO / '.venv/bin/ansible-inventory'), '-i', self.lab.inventory, '--list', '--export'],
                             check=True, capture_output=True, text=True, cwd=str(REPO), env=self.lab.env()).stdout
        data = json.loads(out)
        for group, body in data.items():
            if group == '_meta':
                continue
            for name in [n for n in (body.get('vars') or {}) if _is_secret(n) or n in SSH_LOCAL]:
                del body['vars'][name]
        for hostvars in data['_meta']['hostvars'].values():
            for name in [n for n in hostvars if _is_secret(n) or n in SSH_LOCAL]:
                del hostvars[name]
            # A fresh job container has no known_hosts: accept a host's key on first sight (see docs/awx.md).
            hostvars['ansible_ssh_common_args'] = '-o StrictHostKeyChecking=accept-new'
        all_vars = data.setdefault('all', {}).setdefault('vars', {})
        all_vars['harbor_keyset_dir'] = KEYSET_HOME
        for name, path in self.controller_files.items():
            all_vars[name] = '%s/%s' % (FILES_HOME, pathlib.Path(path).name)
        return data

    def private_data_dir(self, name):
        self.count += 1
        pdd = self.root / ('%02d-%s' % (self.count, name))
        (pdd / 'project').mkdir(parents=True)
        (pdd / 'inventory').mkdir()
        (pdd / 'env').mkdir()
        self._project(pdd / 'project')
        script = pdd / 'inventory' / 'hosts'
        script.write_text('#!/usr/bin/env python3\nimport sys\nsys.stdout.write(%r)\n' % json.dumps(self._inventory()))
        script.chmod(0o755)
        (pdd / 'env' / 'extravars').write_text(yaml.dump({k: _Unsafe(v) for k, v in self.secrets.items()},
                                                         Dumper=_Dumper))
        (pdd / 'env' / 'ssh_key').write_text(self.ssh_key)
        for path in (pdd / 'env').iterdir():
            path.chmod(0o600)
        return pdd

    # -- running -----------------------------------------------------------------------------------------
    def run(self, playbook, keyset_dir, extra_args=()):
        """ansible-runner with process isolation in the EE; returns a Job."""
        pdd = self.private_data_dir(pathlib.Path(playbook).stem)
        cmd = [str(REPO / '.venv/bin/ansible-runner'), 'run', str(pdd), '--playbook', playbook, '--ident', 'job',
               '--process-isolation', '--process-isolation-executable', 'docker', '--container-image', EE_IMAGE,
               '--container-option=--network=%s' % self.network,
               '--container-volume-mount', '%s:%s:rw' % (keyset_dir, KEYSET_HOME)]
        for path in self.controller_files.values():
            # the installer's published checksum beside it (harbor_installer_checksum reads it)
            for src in [pathlib.Path(path)] + [p for p in [pathlib.Path(path + '.sha256')] if p.is_file()]:
                cmd += ['--container-volume-mount', '%s:%s/%s:ro' % (src, FILES_HOME, src.name)]
        if extra_args:
            cmd += ['--cmdline', ' '.join(extra_args)]
        started = time.time()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=str(REPO))
        return Job(pdd, proc, time.time() - started)

    def secret_values(self):
        """Every secret a job is given: the credential's values and the SSH private key's body."""
        key_lines = [line for line in self.ssh_key.splitlines() if line and not line.startswith('-----')]
        return list(self.secrets.values()) + key_lines


class Job(object):
    def __init__(self, pdd, proc, seconds):
        self.pdd = pathlib.Path(pdd)
        self.proc = proc
        self.seconds = seconds
        self.artifacts = self.pdd / 'artifacts' / 'job'

    @property
    def status(self):
        path = self.artifacts / 'status'
        return path.read_text().strip() if path.exists() else 'missing'

    @property
    def rc(self):
        path = self.artifacts / 'rc'
        return int(path.read_text()) if path.exists() else None

    @property
    def stdout(self):
        path = self.artifacts / 'stdout'
        return path.read_text() if path.exists() else self.proc.stdout + self.proc.stderr

    def events(self):
        folder = self.artifacts / 'job_events'
        return [json.loads(p.read_text()) for p in sorted(folder.glob('*.json'))] if folder.is_dir() else []

    def stats(self):
        """The playbook_on_stats event's counters: {'changed': {host: n}, 'failures': {...}, ...}."""
        for event in self.events():
            if event.get('event') == 'playbook_on_stats':
                return event['event_data']
        return {}

    def files_containing(self, secrets):
        """Files under the job's artifacts (events, stdout, command, env.list, ...) holding any of the secrets."""
        found = []
        for path in sorted(p for p in self.artifacts.rglob('*') if p.is_file() and not p.is_fifo()):
            text = path.read_bytes().decode('utf-8', 'replace')
            hits = [s for s in secrets if s and s in text]
            if hits:
                found.append('%s (%d secret(s))' % (path.relative_to(self.pdd), len(hits)))
        return found

    def describe(self):
        return 'status %s rc %s in %.0f s, %s\n%s' % (self.status, self.rc, self.seconds, self.pdd,
                                                      self.stdout[-4000:] + self.proc.stderr[-2000:])
