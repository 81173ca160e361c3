"""Preflight proves the credentials from every node before anything changes (issue 10, item 2).

A wrong Redis password, database password or cephx key stops site.yml in preflight with changed=0 on every host
and a message naming the variable and the node; so does a provided TLS key that does not match its certificate.
The service_login module behind it is also run here from a node against the lab's real PostgreSQL 15, MariaDB,
Redis and Ceph. Nothing here changes the lab: every run stops in preflight, which only reads.
"""

import base64
import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from shared_checks import assert_site_stops_before_any_change
from lab import recap


def wrong_cephx_key(key):
    """A well-formed cephx key (same header, same length) whose secret differs. Changing only the last base64 digit
    before '==' is not enough: its low bits are padding, so the decoded key would be the same."""
    raw = bytearray(base64.b64decode(key))
    for i in range(12, len(raw)):
        raw[i] ^= 0x5a
    return base64.b64encode(bytes(raw)).decode()


def secret(lab, name):
    return lab.resolve(lab.nodes[0], [name])[name]


def require_nodes_running_harbor(lab):
    """The database login is only tried from nodes that run Harbor: on a lab that was never converged, site.yml
    would go on and create the database user with the wrong password. Refuse to run it there."""
    path = lab.vars['harbor_data_volume'] + '/secret/keys/secretkey'
    missing = [node for node in lab.nodes if not lab.host(node).file(path).exists]
    assert not missing, 'precondition: %s run no Harbor yet (no %s); converge the lab first' % (', '.join(missing), path)


# -- a wrong credential stops site.yml in preflight ----------------------------------------------------------

@pytest.mark.parametrize('variable, value, expected', [
    ('harbor_redis_password', 'Wrong-redis-pw:#1', ': Redis refused the password in harbor_redis_password'),
    ('harbor_database_password', 'Wrong-db-pw:#1', ': PostgreSQL refused the password in harbor_database_password'),
    ('harbor_ceph_client_key', None, ': the Ceph monitors refused harbor_ceph_client_key'),
    ('harbor_redis_jobservice_db_index', 42, ': Redis has no database 42 (the job service queue, harbor_redis_jobservice_db_index)'),
])
def test_a_wrong_credential_stops_site_yml_in_preflight_naming_variable_and_node(lab, variable, value, expected):
    require_nodes_running_harbor(lab)
    if value is None:
        value = wrong_cephx_key(secret(lab, variable))
    assert_site_stops_before_any_change(lab, {variable: value}, lab.nodes[0] + expected)


def test_a_deliberate_database_password_change_is_let_through_preflight(lab):
    """preflight_database_password_change=true: the refused login is reported, preflight passes (tag preflight only)."""
    extra = {'harbor_database_password': 'New-db-pw:#2', 'preflight_database_password_change': True}
    rc, out = lab.playbook('site', '--tags', 'preflight', '-e', json.dumps(extra))
    assert rc == 0, out[-3000:]
    assert 'accepted: preflight_database_password_change is true' in out
    assert all(c['changed'] == 0 for c in recap(out).values())


def test_the_right_credentials_pass_and_each_node_reports_its_database_login(lab):
    rc, out = lab.playbook('site', '--tags', 'preflight')
    assert rc == 0, out[-3000:]
    for node in lab.nodes:
        assert '%s: PostgreSQL at ' % node in out and 'logged in to database' in out, out[-3000:]
    assert all(c['changed'] == 0 and c['failed'] == 0 for c in recap(out).values())


# -- provided TLS: the key must match the certificate, the certificate must chain to the CA -----------------

def make_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_cert(subject_key, subject, issuer_key, issuer, ca, days=30):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
               .public_key(subject_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write_pem(path, obj):
    if isinstance(obj, x509.Certificate):
        path.write_bytes(obj.public_bytes(serialization.Encoding.PEM))
    else:
        path.write_bytes(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
        path.chmod(0o600)
    return str(path)


@pytest.fixture(scope='module')
def tls_files(lab, tmp_path_factory):
    """A CA, a server certificate it issued, the server's key, another key, another CA."""
    base = tmp_path_factory.mktemp('provided-tls')
    name = lab.vars['harbor_hostname']
    ca_key, other_ca_key, server_key, other_key = make_key(), make_key(), make_key(), make_key()
    ca = make_cert(ca_key, 'Provided Test CA', ca_key, 'Provided Test CA', ca=True)
    other_ca = make_cert(other_ca_key, 'Another Test CA', other_ca_key, 'Another Test CA', ca=True)
    server = make_cert(server_key, name, ca_key, 'Provided Test CA', ca=False)
    return {
        'ca': write_pem(base / 'ca.crt', ca), 'other_ca': write_pem(base / 'other-ca.crt', other_ca),
        'cert': write_pem(base / 'server.crt', server), 'key': write_pem(base / 'server.key', server_key),
        'other_key': write_pem(base / 'other.key', other_key),
    }


def provided(cert, key, ca):
    return {'harbor_tls_mode': 'provided', 'keyset_tls_provided_cert_path': cert, 'keyset_tls_provided_key_path': key,
            'keyset_tls_provided_ca_path': ca}


@pytest.mark.parametrize('files, expected', [
    (('cert', 'other_key', 'ca'), 'keyset_tls_provided_key_path ({key}) is not the private key of the certificate in '
                                  'keyset_tls_provided_cert_path'),
    (('cert', 'key', 'other_ca'), 'does not verify against the CA in keyset_tls_provided_ca_path ({ca})'),
])
def test_a_provided_tls_key_or_ca_that_does_not_fit_stops_preflight(lab, tls_files, files, expected):
    cert, key, ca = (tls_files[f] for f in files)
    rc, out = lab.playbook('site', '--tags', 'preflight', '-e', json.dumps(provided(cert, key, ca)))
    assert rc != 0, out[-3000:]
    assert expected.format(key=key, ca=ca) in out, out[-3000:]
    counts = recap(out)
    assert counts and all(c['changed'] == 0 for c in counts.values()), counts
    assert '-----BEGIN' not in out, 'key material was printed'


def test_a_provided_tls_set_that_fits_passes_preflight(lab, tls_files):
    rc, out = lab.playbook('site', '--tags', 'preflight', '-e',
                           json.dumps(provided(tls_files['cert'], tls_files['key'], tls_files['ca'])))
    assert rc == 0, out[-3000:]
    assert all(c['changed'] == 0 and c['failed'] == 0 for c in recap(out).values())


# -- the service_login module from a node against the lab's real services ------------------------------------

def login(lab, **args):
    """service_login on the first node (over SSH, like preflight), never failing: the result dict."""
    args.setdefault('timeout', 5)
    args['fail_on_error'] = False
    return lab.adhoc(lab.nodes[0], 'registryops.harbor_ha.service_login', json.dumps(args))


@pytest.fixture(scope='module')
def services(lab):
    names = ['lab_services_ip', 'lab_redis_password', 'lab_postgres_admin_user', 'lab_postgres_admin_password',
             'lab_mariadb_admin_user', 'lab_mariadb_admin_password', 'lab_ceph_monitors', 'lab_ceph_client_name',
             'lab_ceph_client_key', 'harbor_database_username', 'harbor_database_password', 'harbor_database_name']
    return lab.resolve(lab.nodes[0], names)


def test_real_redis_right_wrong_and_out_of_range(lab, services):
    ip = services['lab_services_ip']
    good = login(lab, redis={'host': ip, 'password': services['lab_redis_password'], 'databases': [0, 1, 2, 15]})
    assert good['redis']['ok'] and good['redis']['databases'] == [0, 1, 2, 15], good
    wrong = login(lab, redis={'host': ip, 'password': 'not-the-password'})
    assert (wrong['redis']['cause'], wrong['redis']['code']) == ('password', 'WRONGPASS'), wrong
    missing = login(lab, redis={'host': ip, 'password': ''})
    assert missing['redis']['cause'] == 'auth_required', missing
    index = login(lab, redis={'host': ip, 'password': services['lab_redis_password'], 'databases': [1, 16]})
    assert (index['redis']['cause'], index['redis']['failed_database']) == ('db_index', 16), index


def test_real_postgresql_scram_right_wrong_and_unknown_database(lab, services):
    base = {'host': services['lab_services_ip'], 'user': services['harbor_database_username'],
            'database': services['harbor_database_name']}
    good = login(lab, postgresql=dict(base, password=services['harbor_database_password']))
    assert good['postgresql']['ok'] and good['postgresql']['auth_method'] == 'scram-sha-256', good
    wrong = login(lab, postgresql=dict(base, password='not-the-password'))
    assert (wrong['postgresql']['cause'], wrong['postgresql']['code']) == ('password', '28P01'), wrong
    nodb = login(lab, postgresql=dict(base, password=services['harbor_database_password'], database='no_such_db'))
    assert (nodb['postgresql']['cause'], nodb['postgresql']['code']) == ('database', '3D000'), nodb


def test_real_mariadb_right_wrong_and_unknown_database(lab, services):
    base = {'host': services['lab_services_ip'], 'user': services['lab_mariadb_admin_user'], 'database': 'mysql'}
    good = login(lab, mysql=dict(base, password=services['lab_mariadb_admin_password']))
    assert good['mysql']['ok'] and 'MariaDB' in good['mysql']['server_version'], good
    wrong = login(lab, mysql=dict(base, password='not-the-password'))
    assert (wrong['mysql']['cause'], wrong['mysql']['code']) == ('password', '1045'), wrong
    nodb = login(lab, mysql=dict(base, password=services['lab_mariadb_admin_password'], database='no_such_db'))
    assert (nodb['mysql']['cause'], nodb['mysql']['code']) == ('database', '1049'), nodb


def test_real_ceph_right_and_wrong_key(lab, services):
    base = {'monitors': services['lab_ceph_monitors'], 'name': services['lab_ceph_client_name']}
    good = login(lab, ceph=dict(base, key=services['lab_ceph_client_key']))
    assert good['ceph']['ok'] and 'quorum' in good['ceph']['msg'], good
    wrong = login(lab, ceph=dict(base, key=wrong_cephx_key(services['lab_ceph_client_key'])))
    assert (wrong['ceph']['cause'], wrong['ceph']['code']) == ('key', '13'), wrong
    caps = login(lab, ceph=dict(base, key=services['lab_ceph_client_key'], command=['auth', 'ls']))
    assert caps['ceph']['ok'] and 'outside' in caps['ceph']['msg'], caps
