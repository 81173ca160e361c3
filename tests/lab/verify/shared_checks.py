"""Checks shared by every lab scenario: helpers the scenario tests build on, and whole tests that pytest
collects wherever they are imported (default = Harbor 2.x, legacy = Harbor 1.5)."""

import base64
import contextlib
import hashlib
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import tarfile
import time
import uuid

import requests

from lab import env_file, recap


# -- helpers ---------------------------------------------------------------------------------------------

def sha256_on(lab, host, path):
    return lab.host(host).check_output('sha256sum %s', path).split()[0]


def env_secrets_on(lab, host, config_dir, secret_keys):
    """{'<env file> <KEY>': value} for every HA secret a node's generated env files hold."""
    found = {}
    for env_name, keys in secret_keys.items():
        values = env_file(lab.host(host).file(config_dir + env_name).content_string)
        for key in keys:
            found['%s %s' % (env_name, key)] = values.get(key)
    return found


def env_secrets_in_keyset(lab, secret_keys):
    """The same keys as the controller's key set holds them (secret_keys: env file -> KEY -> secrets/<name>)."""
    return {'%s %s' % (env_name, key): lab.keyset_text('secrets/' + name)
            for env_name, keys in secret_keys.items() for key, name in keys.items()}


def file_hashes_on(lab, host, key_files):
    return {path: sha256_on(lab, host, path) for path in key_files}


def file_hashes_in_keyset(lab, key_files):
    """key_files: path on the node -> file of the key set."""
    result = {}
    for path, rel in key_files.items():
        with open(lab.keyset_path(rel), 'rb') as handle:
            result[path] = hashlib.sha256(handle.read()).hexdigest()
    return result


def assert_every_node_matches(lab, expected, found_on):
    for node in lab.nodes:
        found = found_on(node)
        differing = sorted(k for k in expected if found.get(k) != expected[k])
        assert not differing, '%s differs from the key set in: %s' % (node, ', '.join(differing))


def assert_matrix_ok(lab, **extra):
    result = lab.login_matrix(**extra)
    bad = [p for p in result['matrix'] if not p['ok']]
    assert not bad and not result['diagnosis'], result['diagnosis']
    assert len(result['matrix']) == len(lab.nodes) ** 2
    return result


def assert_compose_trimmed_and_running(lab, node, external):
    """No service for, and no depends_on on, the external services; valid; every service running."""
    services = lab.compose_file(node)['services']
    assert not set(external) & set(services), '%s runs %s' % (node, sorted(services))
    for name, service in services.items():
        depends = service.get('depends_on') or []
        assert not set(external) & set(depends), '%s: %s depends on %s' % (node, name, depends)
    assert lab.compose(node, 'config --quiet').rc == 0
    running = lab.compose(node, 'ps --status running --services').stdout.split()
    assert set(running) == set(services), '%s: running %s, defined %s' % (node, running, sorted(services))
    return services


def assert_site_stops_before_any_change(lab, extra, expected):
    """site.yml with the extra vars fails, prints the expected message and changes nothing anywhere."""
    rc, out = lab.playbook('site', '-e', json.dumps(extra))
    assert rc != 0, 'the play accepted %s' % extra
    assert expected in out, out[-3000:]
    counts = recap(out)
    assert counts and all(c['changed'] == 0 for c in counts.values()), counts


def storage_mount(service, source):
    """The compose volume of a service that mounts <source> (long syntax), or None."""
    return next((v for v in service.get('volumes', []) if isinstance(v, dict) and v.get('source') == source), None)


def assert_share_mounts_never_create_their_source(lab, services):
    """Registry storage and the proxy's share marker are bind mounts with create_host_path false: the engine refuses
    to start them on a bare mount point."""
    storage = storage_mount(services['registry'], lab.vars['harbor_storage_path'])
    assert storage and storage['target'] == '/storage' and storage['bind']['create_host_path'] is False, services['registry']['volumes']
    marker = storage_mount(services['proxy'], lab.vars['harbor_ceph_mount_point'] + '/.harbor-ha-storage')
    assert marker and marker['bind']['create_host_path'] is False and marker.get('read_only'), services['proxy']['volumes']


def haproxy_states(lab):
    """{server: status} of the Harbor backend, read from HAProxy's admin socket on the load balancer."""
    script = ("import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); "
              "s.sendall(b'show stat\\n'); print(b''.join(iter(lambda: s.recv(65536), b'')).decode())")
    out = lab.host(lab.vars['__groups']['harbor_lb'][0]).check_output('python3 -c %s', script)
    rows = [line.split(',') for line in out.splitlines() if line and not line.startswith('#')]
    return {row[1]: row[17] for row in rows if row[0] == 'harbor_nodes' and row[1] not in ('BACKEND', 'FRONTEND')}


def lb_steps(out):
    """Nodes whose server state was set on the load balancer, in the order of the play's output (drained, enabled, ...)."""
    return re.findall(r"TASK \[registryops\.harbor_ha\.loadbalancer : Set this node's server state on each load balancer\]"
                      r"[^\n]*\n(?:[^\n]*\n)*?changed: \[([\w-]+) -> ", out)


def changed_tasks(out, host):
    """Names of the tasks that reported a change on host."""
    tasks, task = set(), None
    for line in out.splitlines():
        if line.startswith('TASK [') or line.startswith('RUNNING HANDLER ['):
            task = line.split('[', 1)[1].rsplit(']', 1)[0]
        elif line.startswith('changed: [%s]' % host) or line.startswith('changed: [%s ->' % host):
            tasks.add(task)
    return tasks


def push_image(lab, repository):
    """Imports a one-file image on the first client, logs in through the LB and pushes it there.
    Returns (client host, tag, digest); the image is <harbor_hostname>/library/<repository>:<tag>."""
    client = lab.host(lab.clients[0])
    name = lab.vars['harbor_hostname']
    tag = uuid.uuid4().hex[:8]
    image = '%s/library/%s:%s' % (name, repository, tag)
    client.check_output("printf %%s %s > /var/tmp/payload && tar -C /var/tmp -c payload | docker import - %s", tag, image)
    assert client.run('echo %s | docker login -u admin --password-stdin %s', lab.vars['harbor_admin_password'], name).rc == 0
    push = client.run('docker push %s', image)
    assert push.rc == 0, push.stderr
    client.run('docker rmi %s', image)
    return client, tag, re.search(r'digest: (sha256:[0-9a-f]{64})', push.stdout).group(1)


def pull_digest(lab, registry, repository, tag):
    """Pulls <registry>/library/<repository>:<tag> on the first client; returns the digest docker printed (or
    the error)."""
    client = lab.host(lab.clients[0])
    client.run('echo %s | docker login -u admin --password-stdin %s', lab.vars['harbor_admin_password'], registry)
    ref = '%s/library/%s:%s' % (registry, repository, tag)
    pull = client.run('docker pull %s', ref)
    client.run('docker rmi %s', ref)
    match = re.search(r'Digest: (sha256:[0-9a-f]{64})', pull.stdout)
    return match.group(1) if pull.rc == 0 and match else 'pull failed: %s' % pull.stderr.strip()[-300:]


def node_access(lab):
    """(scheme, verify) to talk to a node of the lab directly: https with the key set's CA, or plain http."""
    if lab.vars['harbor_tls_mode'] == 'none':
        return 'http', False
    return 'https', lab.keyset_path('tls/ca.crt')


def node_token(lab, address, repository):
    """A pull token for library/<repository>, issued by the node at address."""
    scheme, verify = node_access(lab)
    return requests.get('%s://%s/service/token' % (scheme, address), auth=('admin', lab.vars['harbor_admin_password']),
                        headers={'Host': lab.vars['harbor_hostname']}, verify=verify, timeout=10,
                        params={'service': 'harbor-registry', 'scope': 'repository:library/%s:pull' % repository}).json()['token']


def token_key_id(token):
    """The kid of a token's JOSE header: the libtrust id of the key that signed it."""
    header = token.split('.')[0]
    return json.loads(base64.urlsafe_b64decode(header + '=' * (-len(header) % 4)))['kid']


def token_accepted(lab, address, token):
    """Whether the node at address accepts the bearer token on /v2/."""
    scheme, verify = node_access(lab)
    reply = requests.get('%s://%s/v2/' % (scheme, address), verify=verify, timeout=10,
                         headers={'Host': lab.vars['harbor_hostname'], 'Authorization': 'Bearer ' + token})
    return reply.status_code == 200


def keyset_token_key(lab):
    """The token signing key the key set holds now."""
    return pathlib.Path(lab.keyset_path('token/private_key.pem')).read_bytes()


def archived_files(path):
    """{file name: content} of every file in a tar.gz the rotation playbooks write."""
    with tarfile.open(str(path)) as archive:
        return {pathlib.Path(m.name).name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}


def rotation_archives(lab, kind, since, holding=None):
    """The rotated-<kind>-*.tar.gz archives written since `since` (a set of paths) that hold a file with the content
    `holding` (any archive when None). The lab's scenarios share build/lab/backups; the content tells this lab's apart."""
    backups = pathlib.Path(lab.vars['harbor_keyset_dir']).parent / 'backups'
    found = set(backups.glob('rotated-%s-*.tar.gz' % kind)) - set(since)
    return [a for a in sorted(found) if holding is None or holding in archived_files(a).values()]


def manifest_digest(lab, address, repository, tag):
    """The digest a node serves for library/<repository>:<tag>, asked with a token the node itself issued."""
    scheme, verify = node_access(lab)
    reply = requests.get('%s://%s/v2/library/%s/manifests/%s' % (scheme, address, repository, tag), verify=verify, timeout=10,
                         headers={'Host': lab.vars['harbor_hostname'], 'Authorization': 'Bearer ' + node_token(lab, address, repository),
                                  'Accept': 'application/vnd.docker.distribution.manifest.v2+json'})
    return reply.headers.get('Docker-Content-Digest')


@contextlib.contextmanager
def pulls_through_the_lb(lab, repository='pulls'):
    """Pushes an image, then pulls it through the LB in a loop on the client while the body runs. Yields a
    dict that holds, once the body is done, 'ok' and 'failed' (counts) and 'pulls': (result, start, end) of each
    pull, the times in epoch seconds (the client container shares the lab machine's clock)."""
    client, tag, dummy = push_image(lab, repository)
    image = '%s/library/%s:%s' % (lab.vars['harbor_hostname'], repository, tag)
    loop = ('rm -f /var/tmp/pulls /var/tmp/pulls.stop; while [ ! -e /var/tmp/pulls.stop ]; do docker rmi -f %s >/dev/null 2>&1; '
            'start=$(date +%%s.%%N); if docker pull %s >/dev/null 2>&1; then r=ok; else r=failed; fi; '
            'echo "$r $start $(date +%%s.%%N)" >> /var/tmp/pulls; done' % (image, image))
    client.check_output('nohup sh -c %s >/dev/null 2>&1 &', loop)
    counts = {}
    try:
        yield counts
    finally:
        client.run('touch /var/tmp/pulls.stop')
        time.sleep(3)
        pulls = [(r, float(start), float(end)) for r, start, end in
                 (line.split() for line in client.check_output('cat /var/tmp/pulls').splitlines() if line.strip())]
        results = [p[0] for p in pulls]
        counts.update(ok=results.count('ok'), failed=results.count('failed'), pulls=pulls)
        client.run('docker rmi %s', image)


def record_figure(lab, text):
    """Appends a measured figure to verify-figures.txt next to the lab's key set (printed by make test)."""
    path = os.path.join(os.path.dirname(lab.vars['harbor_keyset_dir'].rstrip('/')), 'verify-figures.txt')
    with open(path, 'a', encoding='utf-8') as handle:
        handle.write(text + '\n')


def ping_url(lab, address):
    """Harbor's ping URL on one address (the path from the collection's harbor_release filter)."""
    if not hasattr(lab, 'release'):
        expression = 'harbor_version | registryops.harbor_ha.harbor_release'
        lab.release = lab.resolve(lab.nodes[0], [expression])[expression]
    return '%s://%s%s' % (node_access(lab)[0], address, lab.release['ping_path'])


def answers_ping(lab, address):
    try:
        reply = requests.get(ping_url(lab, address), headers={'Host': lab.vars['harbor_hostname']}, timeout=5,
                             verify=node_access(lab)[1])
        return reply.status_code == 200
    except requests.RequestException:
        return False


def seconds_until(ready, timeout, delay=2):
    """Seconds until ready() is true (polled), or None after timeout."""
    start = time.time()
    while time.time() - start < timeout:
        if ready():
            return round(time.time() - start)
        time.sleep(delay)
    return None


def cluster_green(lab):
    """Every node healthy and every issuer/verifier pair of the login matrix accepted."""
    result = lab.login_matrix()
    return not result['failed_pairs'] and all(n['healthy'] for n in result['nodes'])


def lab_containers(action, *names):
    """docker stop/start/kill/restart of lab hosts (the lab's power switch; a stop is a clean systemd shutdown)."""
    subprocess.run(['docker', action] + (['-t', '60'] if action in ('stop', 'restart') else []) + list(names),
                   check=True, capture_output=True)


# -- whole tests -----------------------------------------------------------------------------------------

# storage

def test_fstab_has_the_cephfs_line_and_the_share_is_really_mounted(lab):
    mount_point = lab.vars['harbor_ceph_mount_point']
    for node in lab.nodes:
        host = lab.host(node)
        lines = [l.split() for l in host.file('/etc/fstab').content_string.splitlines() if l.strip() and not l.startswith('#')]
        entry = [l for l in lines if len(l) >= 3 and l[1] == mount_point]
        assert len(entry) == 1, '%s: expected one fstab line for %s, got %s' % (node, mount_point, entry)
        assert entry[0][2] in ('fuse.ceph', 'ceph'), entry
        fstype = host.check_output('findmnt --noheadings --output FSTYPE --mountpoint %s', mount_point)
        assert fstype in ('fuse.ceph-fuse', 'ceph'), '%s: %s is %r, not CephFS' % (node, mount_point, fstype)


def test_a_file_written_on_the_first_node_is_read_on_the_last(lab):
    first, last = lab.nodes[0], lab.nodes[-1]
    name = '%s/.verify-%s' % (lab.vars['harbor_ceph_mount_point'], uuid.uuid4().hex)
    payload = uuid.uuid4().hex
    lab.host(first).check_output('echo %s > %s', payload, name)
    try:
        assert lab.host(last).file(name).content_string.strip() == payload
    finally:
        lab.host(first).run('rm -f %s', name)


# login, clients, key set
def test_verify_playbook_passes_from_controller_and_clients(lab):
    rc, out = lab.playbook('verify.yml')
    assert rc == 0, out[-3000:]
    counts = recap(out)
    assert all(c['failed'] == 0 and c['changed'] == 0 for c in counts.values()), counts


def audit_findings(out):
    """(node, item) of every difference the audit's failure names ("<node>: <item> is <value>, ...")."""
    return set(re.findall(r'"([\w.-]+): (.+?) is [^"]*?, (?:expected |\d+ other node|and no value)', out))


def test_the_audit_of_a_converged_cluster_is_clean_and_changes_nothing(lab):
    """playbooks/audit.yml: one table with a column per node, every item the same everywhere, changed=0."""
    rc, out = lab.playbook('audit.yml')
    assert rc == 0, out[-4000:]
    counts = recap(out)
    assert counts and all(c['failed'] == 0 and c['changed'] == 0 for c in counts.values()), counts
    header = re.search(r'"item +\| expected +\| (.*?)"', out)
    assert header, out[-4000:]
    assert [c.strip() for c in header.group(1).split('|')] == lab.nodes
    for item in ('harbor version (core image)', 'token_key', 'secretkey', 'docker-compose.yml', 'registry share (mount)',
                 'docker engine version', 'login: its tokens accepted by', 'registry/config.yml http.secret'):
        assert re.search(r'"%s +\| ' % re.escape(item), out), 'the audit table has no row %r' % item


def test_client_pushes_through_the_lb_and_pulls_the_same_digest_from_each_node(lab):
    client = lab.clients[0]
    name = lab.vars['harbor_hostname']
    password = lab.vars['harbor_admin_password']
    tag = uuid.uuid4().hex[:8]
    image = '%s/library/verify:%s' % (name, tag)
    host = lab.host(client)
    host.check_output("printf %%s %s > /var/tmp/payload && tar -C /var/tmp -c payload | docker import - %s", tag, image)
    assert host.run('echo %s | docker login -u admin --password-stdin %s', password, name).rc == 0
    push = host.run('docker push %s', image)
    assert push.rc == 0, push.stderr
    digest = re.search(r'digest: (sha256:[0-9a-f]{64})', push.stdout).group(1)
    for node in lab.nodes:
        registry = lab.address(node)
        assert host.run('echo %s | docker login -u admin --password-stdin %s', password, registry).rc == 0, node
        ref = '%s/library/verify:%s' % (registry, tag)
        pull = host.run('docker pull %s', ref)
        assert pull.rc == 0, '%s: %s' % (node, pull.stderr)
        assert 'Digest: %s' % digest in pull.stdout, '%s served another digest: %s' % (node, pull.stdout)
        host.run('docker rmi %s', ref)


def test_a_lost_key_set_is_not_replaced_on_nodes_that_run_harbor(lab):
    """The controller lost the key set (new laptop, ephemeral AWX container): site.yml must not make a new one."""
    secretkey = lab.keyset_path('secrets/secretkey')
    aside = secretkey + '.moved-by-test'
    os.rename(secretkey, aside)
    try:
        assert_site_stops_before_any_change(lab, {}, 'already runs Harbor with a secretkey')
        assert not os.path.exists(secretkey), 'a new secretkey was generated'
    finally:
        os.replace(aside, secretkey)


# boot

def test_a_rebooted_node_starts_harbor_by_itself_and_serves_what_was_pushed_while_it_was_down(lab):
    """A node shut down and booted again, no Ansible run: harbor.service starts Harbor once the share is mounted
    (the log collector first), within 120 s, and the node serves a blob that was pushed while it was off."""
    node = lab.nodes[-1]
    lab_containers('stop', node)
    try:
        dummy, tag, digest = push_image(lab, 'reboot')
    finally:
        lab_containers('start', node)
    seconds = seconds_until(lambda: answers_ping(lab, lab.address(node)), 240)
    record_figure(lab, '%s reboot: %s serves its ping %s s after power-on' % (lab.scenario, node, seconds))
    assert seconds is not None and seconds <= 120, '%s did not serve within 120 s (%s)' % (node, seconds)
    assert lab.host(node).run('systemctl is-active harbor.service').stdout.strip() == 'active'
    assert pull_digest(lab, lab.address(node), 'reboot', tag) == digest
    assert seconds_until(lambda: cluster_green(lab), 120) is not None, lab.login_matrix()['diagnosis']


# backup and restore

def run_backup(lab):
    rc, out = lab.playbook('backup.yml')
    assert rc == 0, out[-5000:]
    assert all(c['failed'] == 0 for c in recap(out).values()), recap(out)
    return pathlib.Path(re.search(r'Backup \S+ written to (\S+) \(', out).group(1))


def drop_database(lab, name):
    """The disaster: the Harbor database is dropped on the services host, whatever still uses it."""
    services = lab.host(lab.vars['__groups']['lab_services'][0])
    if lab.vars['harbor_version'].startswith('1.'):
        return services.run("mysql -e 'DROP DATABASE `%s`'" % name)
    return services.run("su postgres -c \"psql -c 'DROP DATABASE %s WITH (FORCE)'\"" % name)


def test_a_backup_restores_a_dropped_database_and_every_image_pulls_with_its_digest(lab, tmp_path):
    """Backup and restore (playbooks/backup.yml, playbooks/restore.yml). The restore drill: an image is pushed, the
    cluster is backed up, the database is dropped (Harbor stops serving), the backup is restored and the image pulls
    through the load balancer with its original digest. A backup of another Harbor version and a damaged backup are
    refused before anything changes. Disruptive: the lab serves again when it ends."""
    registry = lab.vars['harbor_hostname']
    dummy, tag, digest = push_image(lab, 'backup')
    backup = run_backup(lab)

    # What the backup holds: private files, each as the manifest says, the dump, the key set, every node's
    # configuration, and a CephFS snapshot of the share that holds the registry's blobs.
    manifest = json.loads((backup / 'manifest.json').read_text())
    assert stat.S_IMODE(os.stat(backup).st_mode) == 0o700
    engine = 'mysql' if lab.vars['harbor_version'].startswith('1.') else 'postgresql'
    assert manifest['harbor_version'] == lab.vars['harbor_version'] and manifest['database']['engine'] == engine
    listed = {f['path'] for f in manifest['files']}
    assert listed == {'database.sql', 'keyset.tar.gz'} | {'nodes/%s/last-good.%s' % (n, e) for n in lab.nodes for e in ('tar.gz', 'json')}
    for entry in manifest['files']:
        path = backup / entry['path']
        assert path.stat().st_size == entry['size'] and stat.S_IMODE(path.stat().st_mode) == 0o600, entry
    assert 'CREATE TABLE' in (backup / 'database.sql').read_text()
    with tarfile.open(str(backup / 'keyset.tar.gz')) as archive:
        expected = {'token/private_key.pem', 'secrets/secretkey'} | ({'tls/ca.crt'} if lab.vars['harbor_tls_mode'] != 'none' else set())
        assert expected <= set(archive.getnames()), archive.getnames()
    snapshot = manifest['registry_snapshot']['path']
    assert snapshot.startswith(lab.vars['harbor_ceph_mount_point'] + '/.snap/')
    node = lab.host(manifest['registry_snapshot']['made_on'])
    storage = lab.vars['harbor_storage_path'].replace(lab.vars['harbor_ceph_mount_point'], snapshot, 1)
    assert node.file(storage + '/docker/registry/v2/blobs/sha256').is_directory, 'the snapshot holds no blobs'

    # Refused before anything changes: a backup of another version, a damaged backup.
    other = tmp_path / 'other-version'
    shutil.copytree(str(backup), str(other))
    older = '1.5.3' if engine == 'mysql' else '2.14.0'
    (other / 'manifest.json').write_text(json.dumps(dict(manifest, harbor_version=older)))
    rc, out = lab.playbook('restore.yml', '-e', 'harbor_restore_from=%s' % other)
    assert rc != 0 and 'was made with Harbor %s' % older in out and 'Set harbor_version to %s' % older in out, out[-3000:]
    assert all(c['changed'] == 0 for c in recap(out).values()), recap(out)
    damaged = tmp_path / 'damaged'
    shutil.copytree(str(backup), str(damaged))
    with open(str(damaged / 'database.sql'), 'a', encoding='utf-8') as handle:
        handle.write('-- changed\n')
    rc, out = lab.playbook('restore.yml', '-e', 'harbor_restore_from=%s' % damaged)
    assert rc != 0 and 'does not match its manifest' in out and 'database.sql' in out, out[-3000:]
    assert answers_ping(lab, lab.address(lab.nodes[0]))

    # The drill: the database is lost, Harbor cannot serve; the restore brings back what the backup holds.
    dropped = drop_database(lab, manifest['database']['name'])
    assert dropped.rc == 0, dropped.stderr
    assert pull_digest(lab, registry, 'backup', tag).startswith('pull failed'), 'the cluster served without its database'
    start = time.time()
    rc, out = lab.playbook('restore.yml', '-e', 'harbor_restore_from=%s' % backup)
    seconds = round(time.time() - start)
    assert rc == 0, out[-5000:]
    assert pull_digest(lab, registry, 'backup', tag) == digest
    record_figure(lab, 'restore drill (%s, database dropped, playbooks/restore.yml): %d s from the start of the restore until '
                       'the cluster served again; the image pushed before the backup pulled with its digest' % (engine, seconds))
