"""Checks shared by every lab scenario: helpers the scenario tests build on, and whole tests that pytest
collects wherever they are imported (default = Harbor 2.x, legacy = Harbor 1.5)."""

import hashlib
import json
import os
import re
import uuid

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
