"""Behaviour of the Harbor 2.x HA lab after converge + idempotence (molecule scenario default).

Read-only checks come first; the disruptive ones (prepare re-run, a foreign token key, a node down, bad
input) each restore the lab before they finish, so the order in this file matters.
"""

import json
import re
import ssl
import time
import uuid

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

# The shared checks below are imported so that pytest collects them here too.
from shared_checks import (  # noqa: F401  pylint: disable=unused-import
    test_a_file_written_on_the_first_node_is_read_on_the_last, test_fstab_has_the_cephfs_line_and_the_share_is_really_mounted,
    test_a_lost_key_set_is_not_replaced_on_nodes_that_run_harbor, test_client_pushes_through_the_lb_and_pulls_the_same_digest_from_each_node,
    test_verify_playbook_passes_from_controller_and_clients, test_the_audit_of_a_converged_cluster_is_clean_and_changes_nothing,
    test_a_backup_restores_a_dropped_database_and_every_image_pulls_with_its_digest)
from shared_checks import (
    answers_ping, audit_findings, seconds_until,
    assert_compose_trimmed_and_running, assert_every_node_matches, assert_matrix_ok, assert_share_mounts_never_create_their_source,
    haproxy_states, lb_steps, pulls_through_the_lb, push_image, record_figure,
    archived_files, keyset_token_key, node_token, rotation_archives, token_accepted, token_key_id,
    assert_site_stops_before_any_change, env_secrets_in_keyset, env_secrets_on, file_hashes_in_keyset, file_hashes_on)
from lab import recap

SECRET_KEYS = {  # env file -> key -> key set file
    'core/env': {'CORE_SECRET': 'core_secret', 'JOBSERVICE_SECRET': 'jobservice_secret', 'CSRF_KEY': 'csrf_key',
                 'REGISTRY_CREDENTIAL_PASSWORD': 'registry_credential_password',
                 'ROBOT_SCANNER_NAME_PREFIX': 'robot_scanner_prefix'},
    'jobservice/env': {'CORE_SECRET': 'core_secret', 'JOBSERVICE_SECRET': 'jobservice_secret',
                       'REGISTRY_CREDENTIAL_PASSWORD': 'registry_credential_password'},
    'registryctl/env': {'CORE_SECRET': 'core_secret', 'JOBSERVICE_SECRET': 'jobservice_secret'},
}


def data_volume(lab):
    return lab.vars['harbor_data_volume'] or '/data'


def key_files(lab):
    data = data_volume(lab)
    return {
        data + '/secret/core/private_key.pem': 'token/private_key.pem',
        data + '/secret/registry/root.crt': 'token/root.crt',
        data + '/secret/keys/secretkey': 'secrets/secretkey',
        (lab.vars['harbor_install_dir'] or '/opt/harbor') + '/tls/server.crt': 'tls/server.crt',
    }


def node_secrets(lab, host):
    """Every HA secret as the running configuration of one node holds it."""
    base = lab.installer_dir() + '/common/config/'
    found = env_secrets_on(lab, host, base, SECRET_KEYS)
    registry = lab.host(host).file(base + 'registry/config.yml').content_string
    match = re.search(r'^  secret: (\S+)$', registry, re.M)
    found['registry http.secret'] = match.group(1) if match else None
    found['registry passwd'] = lab.host(host).file(base + 'registry/passwd').content_string.strip()
    found.update(file_hashes_on(lab, host, key_files(lab)))
    return found


def expected_secrets(lab):
    expected = env_secrets_in_keyset(lab, SECRET_KEYS)
    expected['registry http.secret'] = lab.keyset_text('secrets/registry_http_secret')
    expected['registry passwd'] = lab.keyset_text('secrets/registry_htpasswd')
    expected.update(file_hashes_in_keyset(lab, key_files(lab)))
    return expected


# -- storage ---------------------------------------------------------------------------------------------

def test_registry_storage_is_on_the_share_owned_by_harbor(lab):
    for node in lab.nodes:
        storage = lab.host(node).file(lab.vars['harbor_storage_path'])
        assert storage.is_directory and storage.uid == 10000, node
        assert_share_mounts_never_create_their_source(lab, lab.compose_file(node)['services'])


# -- configuration ---------------------------------------------------------------------------------------

def test_every_node_holds_the_one_key_set_and_every_ha_secret(lab):
    assert_every_node_matches(lab, expected_secrets(lab), lambda node: node_secrets(lab, node))


def test_keys_are_owned_by_harbor_and_private(lab):
    data = data_volume(lab)
    for node in lab.nodes:
        for path in (data + '/secret/core/private_key.pem', data + '/secret/keys/secretkey'):
            f = lab.host(node).file(path)
            assert f.uid == 10000 and f.mode & 0o077 == 0, '%s %s: uid %s mode %o' % (node, path, f.uid, f.mode)
        key = lab.host(node).file((lab.vars['harbor_install_dir'] or '/opt/harbor') + '/tls/server.key')
        assert key.user == 'root' and key.mode & 0o077 == 0


def test_token_key_is_pkcs1_rsa_4096_and_secretkey_is_16_bytes(lab):
    pem = open(lab.keyset_path('token/private_key.pem'), 'rb').read()
    assert pem.startswith(b'-----BEGIN RSA PRIVATE KEY-----')
    key = serialization.load_pem_private_key(pem, password=None)
    assert key.key_size == 4096
    cert = x509.load_pem_x509_certificate(open(lab.keyset_path('token/root.crt'), 'rb').read())
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()
    assert len(open(lab.keyset_path('secrets/secretkey'), 'rb').read()) == 16


def test_compose_file_is_trimmed_and_valid(lab):
    for node in lab.nodes:
        assert_compose_trimmed_and_running(lab, node, ('postgresql', 'redis'))


# -- login -----------------------------------------------------------------------------------------------

def test_every_node_accepts_every_nodes_token(lab):
    result = assert_matrix_ok(lab)
    assert all(n['healthy'] and n['token_ok'] for n in result['nodes'])
    assert result['endpoint']['ok'], result['endpoint']


def test_a_ui_session_made_on_one_node_is_accepted_by_the_others(lab):
    first, second, third = lab.nodes[0], lab.nodes[1], lab.nodes[-1]
    ca = lab.keyset_path('tls/ca.crt')

    def base(node):
        return 'https://%s' % lab.address(node)

    login = requests.post(base(first) + '/c/login', data={'principal': 'admin', 'password': lab.vars['harbor_admin_password']},
                          verify=ca, timeout=10)
    assert login.status_code == 200, login.text
    cookies = dict(login.cookies)  # sent to every node, not only to the one that set it
    assert cookies, login.headers
    current = requests.get(base(second) + '/api/v2.0/users/current', cookies=cookies, verify=ca, timeout=10)
    assert current.status_code == 200 and current.json()['username'] == 'admin', current.text
    # A session write on a third node with the CSRF token handed out by the second: same CSRF_KEY everywhere.
    logout = requests.post(base(third) + '/c/log_out', cookies=cookies, verify=ca, timeout=10,
                           headers={'X-Harbor-CSRF-Token': current.headers['X-Harbor-CSRF-Token']})
    assert logout.status_code == 200, logout.text
    after = requests.get(base(first) + '/api/v2.0/users/current', cookies=cookies, verify=ca, timeout=10)
    assert after.status_code == 401


# -- repairs ---------------------------------------------------------------------------------------------

def converge_node(lab, node):
    rc, out = lab.playbook('site', '--limit', node + ',localhost', '--tags', 'harbor')
    assert rc == 0, out[-3000:]
    return out


def test_the_audit_names_each_node_and_item_that_drifted_and_is_clean_again_once_repaired(lab):
    """Drift injected on three nodes at once: a shared secret (harbor2's core/env), the token key (harbor3's, live:
    every login pair with harbor3 fails), the compose file and the running version (harbor1: core recreated from the
    same image under another tag). playbooks/audit.yml prints its table and fails naming exactly these and the login
    rows, changes nothing; once put back it is clean (in check mode)."""
    first, second, third = lab.nodes[:3]
    config = lab.installer_dir() + '/common/config'
    compose_path = lab.installer_dir() + '/docker-compose.yml'
    token_key = data_volume(lab) + '/secret/core/private_key.pem'
    version = lab.vars['harbor_version']
    image = lab.compose_file(first)['services']['core']['image']
    drifted_image = image.replace(':v' + version, ':v%s-drift' % version)
    saved = {}
    for host, path in ((second, config + '/core/env'), (third, token_key), (first, compose_path)):
        saved[(host, path)] = lab.host(host).check_output('base64 -w0 %s', path)
    try:
        lab.host(second).check_output("sed -i 's/^CORE_SECRET=.*/CORE_SECRET=drifted-by-test/' %s", config + '/core/env')
        key_pem, dummy = make_foreign_token_pair()
        # Written in place: harbor3's running core signs and checks with it at once (Harbor's core reads the file for
        # every token), so the login matrix fails harbor3's pairs too, and the audit must name them, not stop.
        lab.host(third).check_output("printf '%%s' %s > %s", key_pem, token_key)
        lab.host(first).check_output('docker tag %s %s', image, drifted_image)
        lab.host(first).check_output("sed -i 's|image: %s$|image: %s|' %s", image, drifted_image, compose_path)
        assert lab.compose(first, 'up -d core').rc == 0
        assert seconds_until(lambda: answers_ping(lab, lab.address(first)), 120) is not None, 'core did not come back'
        rc, out = lab.playbook('audit.yml')
        assert rc != 0, out[-4000:]
        assert all(c['changed'] == 0 for c in recap(out).values()), recap(out)
        found = audit_findings(out)
        login = {(n, item) for n in (first, second, third) for item in ('login: its tokens accepted by', 'login: accepts the tokens of')}
        assert found == {(second, 'core/env CORE_SECRET'), (third, 'token_key'), (first, 'docker-compose.yml'),
                         (first, 'harbor version (core image)')} | login, out[-5000:]
        assert re.search(r'"token_key +\| (\w{12}) +\| \1 +\| \1 +\| ! \w{12}', out), 'the table does not mark the key'
    finally:
        for (host, path), content in saved.items():
            lab.host(host).check_output('echo %s | base64 -d > %s', content, path)
        lab.compose(first, 'up -d core')
        lab.host(first).run('docker rmi %s', drifted_image)
    assert seconds_until(lambda: answers_ping(lab, lab.address(first)), 120) is not None
    rc, out = lab.playbook('audit.yml', '--check')
    assert rc == 0, out[-4000:]


def test_secrets_are_restored_after_prepare_ran_again(lab):
    node = lab.nodes[1]
    before = node_secrets(lab, node)
    assert lab.host(node).run('cd %s && ./prepare', lab.installer_dir()).rc == 0
    regenerated = node_secrets(lab, node)
    assert regenerated['core/env CORE_SECRET'] != before['core/env CORE_SECRET'], 'prepare did not regenerate secrets'
    # prepare keeps the token pair when both halves exist: the role places them before prepare.
    for path in key_files(lab):
        if '/secret/' in path:
            assert regenerated[path] == before[path], path
    converge_node(lab, node)
    assert node_secrets(lab, node) == expected_secrets(lab)
    assert_matrix_ok(lab)


def make_foreign_token_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, 'foreign-token-ca')])
    now = __import__('datetime').datetime.now(__import__('datetime').timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + __import__('datetime').timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    return pem.decode(), cert.public_bytes(serialization.Encoding.PEM).decode()


def test_a_node_with_its_own_token_key_is_named_and_site_yml_repairs_it(lab):
    node = lab.nodes[1]
    data = data_volume(lab)
    key_pem, cert_pem = make_foreign_token_pair()
    host = lab.host(node)
    host.check_output("printf '%%s' %s > %s/secret/core/private_key.pem", key_pem, data)
    host.check_output("printf '%%s' %s > %s/secret/registry/root.crt", cert_pem, data)
    assert lab.compose(node, 'restart core registry').rc == 0
    result = wait_for(lab.login_matrix, lambda r: all(n['healthy'] for n in r['nodes']))
    failing = {(p['issuer'], p['verifier']) for p in result['matrix'] if not p['ok']}
    others = [n for n in lab.nodes if n != node]
    assert failing == {(node, o) for o in others} | {(o, node) for o in others}, failing
    assert node in ' '.join(result['diagnosis']) and 'key' in ' '.join(result['diagnosis'])
    converge_node(lab, node)
    wait_for(lab.login_matrix, lambda r: not r['failed_pairs'])
    assert_matrix_ok(lab)


def test_a_node_whose_registry_credential_differs_fails_pushes_and_site_yml_repairs_it(lab):
    """Harbor 2.x core reaches the registry with REGISTRY_CREDENTIAL_PASSWORD against the registry's htpasswd:
    a node where the two differ cannot serve /v2/ (its pushes fail), whatever its token key says."""
    node = lab.nodes[2]
    env_file = lab.installer_dir() + '/common/config/core/env'
    host = lab.host(node)
    client = lab.host(lab.clients[0])
    registry = lab.address(node)
    images = []
    for step in ('before', 'broken', 'repaired'):
        tag = '%s-%s' % (step, uuid.uuid4().hex[:8])
        images.append('%s/library/credential:%s' % (registry, tag))
        client.check_output("printf %%s %s > /var/tmp/payload && tar -C /var/tmp -c payload | docker import - %s", tag, images[-1])
    assert client.run('echo %s | docker login -u admin --password-stdin %s', lab.vars['harbor_admin_password'], registry).rc == 0
    push = client.run('docker push %s', images[0])
    assert push.rc == 0, push.stderr
    host.check_output("sed -i 's/^REGISTRY_CREDENTIAL_PASSWORD=.*/REGISTRY_CREDENTIAL_PASSWORD=not-the-htpasswd-one/' %s", env_file)
    assert lab.compose(node, 'up -d core').rc == 0   # env_file changes need a new container
    wait_for(lambda: host.run('curl -kfsS -o /dev/null https://127.0.0.1/api/v2.0/ping').rc, lambda rc: rc == 0)
    push = client.run('docker push %s', images[1])
    assert push.rc != 0, 'a node whose core and registry disagree on the registry credential accepted a push'
    converge_node(lab, node)
    wait_for(lab.login_matrix, lambda r: not r['failed_pairs'] and all(n['healthy'] for n in r['nodes']))
    push = client.run('docker push %s', images[2])
    assert push.rc == 0, push.stderr
    client.run('docker rmi %s', ' '.join(images))


def push_through_the_lb(lab, repository):
    """Pushes a one-file image through the LB (shared_checks.push_image); returns (client, image)."""
    client, tag, dummy = push_image(lab, repository)
    return client, '%s/library/%s:%s' % (lab.vars['harbor_hostname'], repository, tag)


def served_certificate_fingerprint(address, port=443):
    pem = ssl.get_server_certificate((address, port), timeout=10)
    return x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256()).hex()


def core_started(lab):
    """When each node's core container started."""
    return {n: lab.host(n).check_output("docker inspect -f '{{.State.StartedAt}}' harbor-core") for n in lab.nodes}


def pem_certificates(path):
    with open(path, 'rb') as handle:
        return x509.load_pem_x509_certificates(handle.read())


def test_a_ca_change_keeps_every_client_trusting_what_it_is_served_and_leaves_the_new_ca_alone(lab):
    """CA change (playbooks/rotate_ca.yml): the new CA is trusted next to the old one before any node serves a
    certificate it issued, and the old one is dropped only after every node serves the new certificate. A client pulls
    through the LB the whole time: one pull against a certificate it does not trust would fail. Step 2 is the
    certificate renewal of rotate_keys.yml (harbor_rotate=certificate): its proof is this one, a new certificate on
    every node with nothing restarted."""
    old_ca = pem_certificates(lab.keyset_path('tls/ca.crt'))
    assert len(old_ca) == 1
    before = rotation_archives(lab, 'ca', ())
    starts = {n: lab.host(n).check_output("docker inspect -f '{{.State.StartedAt}}' nginx harbor-core registry") for n in lab.nodes}
    start = time.time()
    with pulls_through_the_lb(lab, 'ca-change') as pulls:
        rc, out = lab.playbook('rotate_ca.yml', '--tags', 'keyset,rotate,harbor,registry_client')
    seconds = round(time.time() - start)
    assert rc == 0, out[-5000:]
    record_figure(lab, 'CA change (playbooks/rotate_ca.yml, 3 steps): %d s, pulls through the LB meanwhile: %d ok, %d failed'
                  % (seconds, pulls['ok'], pulls['failed']))
    assert pulls['ok'] > 0 and pulls['failed'] == 0, pulls
    # The key set trusts one CA again, a new one, and it issued the certificate every node serves.
    new_ca = pem_certificates(lab.keyset_path('tls/ca.crt'))
    assert len(new_ca) == 1 and new_ca[0] != old_ca[0]
    served = pem_certificates(lab.keyset_path('tls/server.crt'))[0]
    served.verify_directly_issued_by(new_ca[0])
    fingerprint = served.fingerprint(hashes.SHA256()).hex()
    assert {n: served_certificate_fingerprint(lab.address(n)) for n in lab.nodes} == {n: fingerprint for n in lab.nodes}
    assert served_certificate_fingerprint(lab.vars['harbor_verify_endpoint'].split('://')[1]) == fingerprint
    # Every client's certs.d holds the new CA alone; nothing restarted for any of it; the old CA was kept.
    client_ca = lab.host(lab.clients[0]).file('/etc/docker/certs.d/%s/ca.crt' % lab.vars['harbor_hostname']).content
    assert x509.load_pem_x509_certificates(client_ca) == new_ca
    assert {n: lab.host(n).check_output("docker inspect -f '{{.State.StartedAt}}' nginx harbor-core registry")
            for n in lab.nodes} == starts
    archives = rotation_archives(lab, 'ca', before)
    assert len(archives) == 1
    kept = archived_files(archives[0])
    assert set(kept) == {'ca.key', 'ca.crt'} and x509.load_pem_x509_certificates(kept['ca.crt']) == old_ca
    assert_matrix_ok(lab)


def test_a_token_key_rotation_switches_the_nodes_over_at_one_instant_while_pulls_keep_working(lab):
    """Token key rotation (playbooks/rotate_token_key.yml). A node checks tokens with its own key alone (Harbor 2.x
    core), so nodes with different keys must never serve the same client: every node but the first gets the new pair
    while drained, then one HAProxy command hands them the traffic and closes the first node's connections, which
    switches last. A client pulls through the LB the whole time: only a pull in flight at that instant may fail."""
    before = rotation_archives(lab, 'token', ())
    old_key = keyset_token_key(lab)
    addresses = {n: lab.address(n) for n in lab.nodes}
    old_token = node_token(lab, addresses[lab.nodes[-1]], 'token-key')
    assert all(token_accepted(lab, a, old_token) for a in addresses.values())
    rc, out = lab.playbook('rotate_token_key.yml', '--check', '--diff')
    assert rc == 0 and 'Check mode: a new token key pair would be made' in out, out[-3000:]
    assert all(c['changed'] == 0 for c in recap(out).values()), recap(out)
    assert keyset_token_key(lab) == old_key
    start = time.time()
    with pulls_through_the_lb(lab, 'token-key') as pulls:
        rc, out = lab.playbook('rotate_token_key.yml')
    seconds = round(time.time() - start)
    assert rc == 0, out[-5000:]
    instants = [float(at) for at in re.findall(r'Switched over at ([0-9.]+)', out)]
    assert len(instants) == len(lab.vars['__groups']['harbor_lb']), out[-3000:]
    switch = instants[0]
    record_figure(lab, 'token key rotation (playbooks/rotate_token_key.yml, %d nodes): %d s, pulls through the LB meanwhile: '
                  '%d ok, %d failed (in flight at the switch-over)' % (len(lab.nodes), seconds, pulls['ok'], pulls['failed']))
    # The one client pulls one image at a time: at most the pull in flight at the switch-over fails, none other.
    assert [p for p in pulls['pulls'] if p[0] == 'failed' and not p[1] <= switch <= p[2]] == [], (switch, pulls['pulls'])
    assert pulls['failed'] <= 1, pulls
    assert [p for p in pulls['pulls'] if p[0] == 'ok' and p[2] < switch] and [p for p in pulls['pulls'] if p[0] == 'ok' and p[1] > switch]
    # Every node signs with one new key; a token of the old key is refused everywhere.
    kids = {n: token_key_id(node_token(lab, a, 'token-key')) for n, a in addresses.items()}
    assert len(set(kids.values())) == 1 and kids[lab.nodes[0]] != token_key_id(old_token), kids
    assert [n for n, a in addresses.items() if token_accepted(lab, a, old_token)] == []
    # The first node switched last, after the others.
    started = core_started(lab)
    assert all(started[lab.nodes[0]] > started[n] for n in lab.nodes[1:]), started
    # The key set holds the new pair (PKCS#1, what Harbor needs); the old pair was kept.
    assert keyset_token_key(lab) != old_key
    assert keyset_token_key(lab).startswith(b'-----BEGIN RSA PRIVATE KEY-----')
    # The scenarios share the lab's backup directory: this lab's archive is the one that holds its old key.
    archives = rotation_archives(lab, 'token', before, holding=old_key)
    assert len(archives) == 1
    kept = archived_files(archives[0])
    assert set(kept) == {'private_key.pem', 'root.crt'} and kept['private_key.pem'] == old_key

    # A rotation left half way (here: the last node still runs the old pair) goes on when run again: no new pair, the
    # nodes that run the key set's pair take the traffic and the one behind switches.
    behind, data = lab.nodes[-1], data_volume(lab)
    lab.host(behind).check_output("printf '%%s' %s > %s/secret/core/private_key.pem", kept['private_key.pem'].decode(), data)
    lab.host(behind).check_output("printf '%%s' %s > %s/secret/registry/root.crt", kept['root.crt'].decode(), data)
    assert lab.compose(behind, 'restart core registry').rc == 0
    new_key = keyset_token_key(lab)
    started = core_started(lab)
    rc, out = lab.playbook('rotate_token_key.yml')
    assert rc == 0, out[-5000:]
    assert 'A rotation is under way: %s' % behind in out, out[-3000:]
    assert keyset_token_key(lab) == new_key
    assert rotation_archives(lab, 'token', before, holding=new_key) == []
    restarted = [n for n, at in core_started(lab).items() if at != started[n]]
    assert restarted == [behind]
    assert {n: token_key_id(node_token(lab, a, 'token-key')) for n, a in addresses.items()} == kids


def test_with_one_node_stopped_pulls_through_the_lb_still_work(lab):
    node = lab.nodes[1]
    client, image = push_through_the_lb(lab, 'failover')
    assert lab.compose(node, 'stop').rc == 0
    try:
        time.sleep(4)  # the LB takes a failed node out within 3 s (inter 1s, fall 2)
        failures = 0
        for dummy in range(6):
            client.run('docker rmi %s', image)
            failures += client.run('docker pull %s', image).rc != 0
        assert failures == 0, '%d of 6 pulls through the LB failed with %s stopped' % (failures, node)
        result = lab.login_matrix()
        down = [n for n in result['nodes'] if not n['healthy']]
        assert [n['name'] for n in down] == [node], result['nodes']
        assert node in ' '.join(result['diagnosis'])
        healthy_pairs = [p for p in result['matrix'] if node not in (p['issuer'], p['verifier'])]
        assert healthy_pairs and all(p['ok'] for p in healthy_pairs)
    finally:
        lab.compose(node, 'up -d')
    wait_for(lab.login_matrix, lambda r: not r['failed_pairs'] and all(n['healthy'] for n in r['nodes']))


# -- bad input stops the play before anything is touched ------------------------------------------------

@pytest.mark.parametrize('extra, expected', [
    ({'harbor_admin_password': 'Harbor12345'}, 'harbor_admin_password is Harbor'),
    ({'harbor_database_password': ''}, 'harbor_database_password'),
    ({'harbor_database_password': 'has a space'}, 'harbor_database_password contains whitespace'),
    ({'harbor_database_port': 5999}, '5999'),  # nothing listens there: the database is unreachable
    ({'harbor_external_url': 'htp://harbor.lab.test/x'}, 'harbor_external_url'),
])
def test_bad_input_stops_the_play_before_any_change(lab, extra, expected):
    assert_site_stops_before_any_change(lab, extra, expected)


def test_registry_storage_off_the_share_stops_the_harbor_play(lab):
    rc, out = lab.playbook('site', '--tags', 'harbor', '-e', json.dumps({'harbor_storage_path': '/var/tmp/not-shared/registry'}))
    assert rc != 0
    assert 'not on a shared filesystem' in out, out[-3000:]
    assert all(c['changed'] == 0 for c in recap(out).values())


# -- helpers ---------------------------------------------------------------------------------------------

def wait_for(fetch, ready, timeout=90, delay=3):
    deadline = time.time() + timeout
    while True:
        value = fetch()
        if ready(value) or time.time() > deadline:
            return value
        time.sleep(delay)


# -- check mode ------------------------------------------------------------------------------------------

def test_check_mode_with_diff_reports_nothing_to_change_and_leaks_no_secret(lab):
    rc, out = lab.playbook('site', '--check', '--diff')
    assert rc == 0, out[-3000:]
    counts = recap(out)
    assert counts and all(c['changed'] == 0 and c['failed'] == 0 for c in counts.values()), counts
    secrets = [lab.vars['harbor_admin_password'], lab.keyset_text('secrets/csrf_key'), lab.keyset_text('secrets/core_secret'),
               lab.keyset_text('secrets/registry_http_secret'), 'BEGIN RSA PRIVATE KEY', 'BEGIN PRIVATE KEY']
    leaked = [s[:6] + '...' for s in secrets if s in out]
    assert not leaked, 'check mode printed secrets: %s' % leaked


# -- a changed setting rolls through the nodes -----------------------------------------------------------

def test_a_node_a_failed_run_left_drained_is_put_back_by_the_next_run(lab, tmp_path):
    """The restart play drains a node, then the run fails (here: a play that only drains it, as a run that stopped
    after the drain would). The node stays in maintenance with the drain's marker on the load balancer; the next run
    of the loadbalancer play puts it back once it is healthy, and forgets the marker."""
    node = lab.nodes[1]
    lb = lab.host(lab.vars['__groups']['harbor_lb'][0])
    drain = tmp_path / 'drain-only.yml'
    drain.write_text(json.dumps([{
        'name': 'Take one node out, as the restart play does before a restart', 'hosts': node, 'gather_facts': False,
        'tasks': [{'name': 'Drain it',
                   'ansible.builtin.include_role': {'name': 'registryops.harbor_ha.loadbalancer', 'tasks_from': 'backend_state.yml'},
                   'vars': {'loadbalancer_backend_server': node, 'loadbalancer_backend_state': 'drained'}}]}]))
    rc, out = lab.playbook(str(drain))
    assert rc == 0, out[-3000:]
    assert haproxy_states(lab)[node] == 'MAINT'
    assert lb.file('/var/lib/harbor-ha/drained/' + node).exists
    rc, out = lab.playbook('site', '--tags', 'loadbalancer')
    assert rc == 0, out[-3000:]
    assert 'Put each healthy one back into the load balancer' in out and 'changed: [lb] => (item=%s)' % node in out, out[-3000:]
    assert haproxy_states(lab)[node] == 'UP', haproxy_states(lab)
    assert not lb.file('/var/lib/harbor-ha/drained/' + node).exists
    rc, out = lab.playbook('site', '--tags', 'loadbalancer')
    assert rc == 0 and recap(out)['lb']['changed'] == 0, out[-3000:]


def test_a_changed_configuration_restarts_each_node_once_one_at_a_time_drained_while_pulls_keep_working(lab):
    """What a changed harbor.yml setting causes: prepare must run again on every serving node (here: the record of
    the last prepare is gone, so the role cannot tell it ran for this harbor.yml). Every node is rendered at once;
    prepare is put off on serving nodes (it rewrites files the running registry re-reads), and each node restarts
    once, one at a time, taken out of HAProxy first and put back when healthy, while a client keeps pulling
    through the LB.

    The same run rotates the shared secrets (playbooks/rotate_keys.yml -e harbor_rotate=secrets, its key set and
    Harbor plays): every secret but the secretkey is made anew, the old ones kept in an archive; a node's core and
    registry switch to the new registry credential together, in its restart; afterwards the audit is clean."""
    names = ['core_secret', 'jobservice_secret', 'csrf_key', 'registry_credential_password', 'registry_http_secret',
             'registry_htpasswd']
    secrets_before = {name: lab.keyset_text('secrets/' + name) for name in names}
    secretkey = lab.keyset_text('secrets/secretkey')
    client, image = push_through_the_lb(lab, 'rolling')
    stamp = lab.installer_dir() + '/.harbor_ha_prepare_stamp'
    core_started = "docker inspect -f '{{.State.StartedAt}}' harbor-core"
    before = {n: lab.host(n).check_output(core_started) for n in lab.nodes}
    for node in lab.nodes:
        lab.host(node).check_output('rm -f %s', stamp)
    loop = ('rm -f /var/tmp/pulls /var/tmp/pulls.stop; while [ ! -e /var/tmp/pulls.stop ]; do docker rmi -f %s >/dev/null 2>&1; '
            'if docker pull %s >/dev/null 2>&1; then echo ok; else echo failed; fi >> /var/tmp/pulls; done' % (image, image))
    client.check_output('nohup sh -c %s >/dev/null 2>&1 &', loop)
    try:
        rc, out = lab.playbook('rotate_keys.yml', '-e', 'harbor_rotate=secrets', '--tags', 'keyset,harbor')
    finally:
        client.run('touch /var/tmp/pulls.stop')
    time.sleep(3)
    assert rc == 0, out[-3000:]
    after = {n: lab.host(n).check_output(core_started) for n in lab.nodes}
    assert all(after[n] != before[n] for n in lab.nodes), 'not every node restarted'
    assert all(lab.host(n).file(stamp).exists for n in lab.nodes), 'prepare did not run on every node'
    # The load balancer steps, in order: each node drained then enabled before the next one is touched.
    steps = lb_steps(out)
    assert steps == [n for pair in zip(lab.nodes, lab.nodes) for n in pair], steps  # drained, enabled; node by node
    # One at a time: the nodes' core containers started in that order, each after the previous one.
    assert sorted(lab.nodes, key=lambda n: after[n]) == list(lab.nodes), after
    pulls = client.check_output('cat /var/tmp/pulls').split()
    figures = ('rolling restart (prepare and new shared secrets on every node): %d pulls through the LB, %d failed'
               % (len(pulls), pulls.count('failed')))
    record_figure(lab, figures)
    assert pulls and pulls.count('failed') == 0, figures
    assert set(haproxy_states(lab).values()) == {'UP'}, haproxy_states(lab)
    client.run('docker rmi %s', image)
    assert_matrix_ok(lab)
    # The rotation: new secrets everywhere, the secretkey kept, the old secrets in the archive, pushes work.
    secrets_after = {name: lab.keyset_text('secrets/' + name) for name in names}
    assert all(secrets_after[name] != secrets_before[name] for name in names), 'a secret was not made anew'
    assert lab.keyset_text('secrets/secretkey') == secretkey
    assert rotation_archives(lab, 'secrets', (), holding=secrets_before['core_secret'].encode()), 'no archive holds the old core secret'
    rc, audit = lab.playbook('audit.yml')
    assert rc == 0, audit[-4000:]
    push_image(lab, 'after-rotation')
