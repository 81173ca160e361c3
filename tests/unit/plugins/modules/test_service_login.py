# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""service_login: the protocol code against in-process fake servers (fake_services.py), the module run as Ansible
runs it, and, when this machine has PostgreSQL installed, against a real PostgreSQL started for the test."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.registryops.harbor_ha.plugins.module_utils._service_login import (
    ScramClient, ceph_login, mysql_login, postgresql_login, redis_login, saslprep,
)
from fake_services import FakeMySQL, FakePostgres, FakeRedis, Silent

MODULE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'modules', 'service_login.py')
# Characters that break naive quoting in URLs, INI and shell, like the lab's passwords.
PASSWORD = 'Db-pass:#2$PATH@/,%\'"x'


def eventually(check, seconds=2):
    """The fake server records what it received in its own thread: wait for it."""
    deadline = time.time() + seconds
    while not check() and time.time() < deadline:
        time.sleep(0.01)
    return check()


def closed_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


# -- Redis -------------------------------------------------------------------------------------------------

def test_redis_right_password_selects_every_index_and_pings():
    with FakeRedis(password=PASSWORD) as server:
        res = redis_login('127.0.0.1', server.port, PASSWORD, databases=[0, 1, 2], timeout=2)
    assert res['ok'] and res['databases'] == [0, 1, 2] and res['cause'] is None, res
    assert server.seen == ['AUTH', 'SELECT', 'SELECT', 'SELECT', 'PING', 'QUIT']


@pytest.mark.parametrize('version, code', [(7, 'WRONGPASS'), (5, 'ERR')])
def test_redis_wrong_password_is_cause_password(version, code):
    with FakeRedis(password=PASSWORD, version=version) as server:
        res = redis_login('127.0.0.1', server.port, 'wrong', databases=[0, 1], timeout=2)
    assert not res['ok'] and res['step'] == 'auth' and res['cause'] == 'password' and res['code'] == code, res
    assert 'refused AUTH' in res['msg'] and 'wrong' not in res['msg']
    assert server.seen == ['AUTH']


def test_redis_without_password_against_a_protected_server_is_auth_required():
    with FakeRedis(password=PASSWORD) as server:
        res = redis_login('127.0.0.1', server.port, '', databases=[0], timeout=2)
    assert (res['ok'], res['step'], res['cause'], res['code']) == (False, 'select', 'auth_required', 'NOAUTH'), res
    assert 'requires a password' in res['msg']


@pytest.mark.parametrize('version', [7, 5])
def test_redis_password_given_to_a_server_without_one_is_no_password_set(version):
    with FakeRedis(password=None, version=version) as server:
        res = redis_login('127.0.0.1', server.port, 'something', timeout=2)
    assert (res['ok'], res['cause']) == (False, 'no_password_set'), res


def test_redis_bad_db_index_names_the_index_and_keeps_the_good_ones():
    with FakeRedis(password=PASSWORD, databases=4) as server:
        res = redis_login('127.0.0.1', server.port, PASSWORD, databases=[2, 0, 7, 1], timeout=2)
    assert (res['ok'], res['step'], res['cause'], res['failed_database']) == (False, 'select', 'db_index', 7), res
    assert res['databases'] == [0, 1, 2] and 'SELECT 7' in res['msg'] and 'out of range' in res['msg']


def test_redis_acl_user():
    with FakeRedis(password='default-pw', users={'harbor': PASSWORD}) as server:
        good = redis_login('127.0.0.1', server.port, PASSWORD, username='harbor', timeout=2)
        bad = redis_login('127.0.0.1', server.port, 'default-pw', username='harbor', timeout=2)
    assert good['ok'], good
    assert (bad['cause'], bad['code']) == ('password', 'WRONGPASS') and 'user harbor' in bad['msg']


def test_redis_connection_refused_and_silence():
    res = redis_login('127.0.0.1', closed_port(), PASSWORD, timeout=1)
    assert (res['step'], res['cause']) == ('connect', 'unreachable') and 'refused' in res['msg'].lower(), res
    with Silent() as server:
        started = time.time()
        res = redis_login('127.0.0.1', server.port, PASSWORD, timeout=0.5)
    assert (res['step'], res['cause']) == ('auth', 'timeout'), res
    assert time.time() - started < 3


def test_redis_a_non_redis_server_is_a_protocol_error():
    with FakePostgres() as server:     # answers nothing sensible to RESP
        res = redis_login('127.0.0.1', server.port, PASSWORD, timeout=1)
    assert not res['ok'] and res['cause'] in ('protocol', 'timeout'), res


# -- PostgreSQL --------------------------------------------------------------------------------------------

@pytest.mark.parametrize('method', ['scram-sha-256', 'md5', 'password', 'trust'])
def test_postgresql_right_password_logs_in(method):
    with FakePostgres(method=method, users={'harbor': PASSWORD}) as server:
        res = postgresql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
    assert res['ok'] and res['step'] == 'ready' and res['server_version'] == '15.99 (fake)', res
    assert server.seen[0] == {'user': 'harbor', 'database': 'registry', 'application_name': 'harbor-ha-preflight',
                              'client_encoding': 'UTF8'}
    assert eventually(lambda: server.seen[-1] == b'X')  # Terminate


@pytest.mark.parametrize('method', ['scram-sha-256', 'md5', 'password'])
def test_postgresql_wrong_password_is_28P01(method):
    with FakePostgres(method=method, users={'harbor': PASSWORD}) as server:
        res = postgresql_login('127.0.0.1', server.port, 'harbor', 'wrong', 'registry', timeout=2)
    assert (res['ok'], res['step'], res['cause'], res['code']) == (False, 'auth', 'password', '28P01'), res
    assert 'password authentication failed for user "harbor"' in res['msg']


def test_postgresql_unknown_database_and_no_hba_entry():
    with FakePostgres(users={'harbor': PASSWORD}) as server:
        res = postgresql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'nodb', timeout=2)
    assert (res['step'], res['cause'], res['code']) == ('database', 'database', '3D000'), res
    with FakePostgres(method='reject') as server:
        res = postgresql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
    assert (res['step'], res['cause'], res['code']) == ('startup', 'access', '28000'), res
    assert 'no pg_hba.conf entry' in res['msg']


def test_postgresql_unsupported_method_and_forged_scram_signature():
    with FakePostgres(method='gss', users={'harbor': PASSWORD}) as server:
        res = postgresql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
    assert (res['cause'], res['step']) == ('unsupported', 'auth') and 'GSSAPI' in res['msg'], res
    with FakePostgres(users={'harbor': PASSWORD}, tamper_server_signature=True) as server:
        res = postgresql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
    assert (res['ok'], res['cause']) == (False, 'protocol') and 'server signature' in res['msg'], res


def test_postgresql_ssl_modes_against_a_server_without_tls():
    with FakePostgres(users={'harbor': PASSWORD}) as server:
        required = postgresql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2, ssl_mode='require')
        preferred = postgresql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2, ssl_mode='prefer')
    assert (required['ok'], required['cause'], required['step']) == (False, 'tls', 'tls'), required
    assert preferred['ok'] and not preferred['tls'], preferred


def test_scram_matches_rfc7677_example():
    """The SCRAM-SHA-256 test vector of RFC 7677, section 3 (user "user", password "pencil")."""
    client = ScramClient('pencil', nonce='rOprNGfwEbeRWgbNEkqO')
    client.client_first_bare = 'n=user,r=rOprNGfwEbeRWgbNEkqO'
    final = client.final_message(b'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')
    assert final == b'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='
    assert client.verify_final(b'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')


def test_saslprep_keeps_ascii_and_maps_unicode_spaces():
    assert saslprep(PASSWORD) == PASSWORD
    assert saslprep(u'I\u00adX') == 'IX'            # soft hyphen maps to nothing (RFC 4013 example)
    assert saslprep(u'a\u00a0b') == 'a b'           # non-ASCII space maps to space
    assert saslprep(u'\u2168') == 'IX'              # NFKC
    assert saslprep(u'a\u0007b') == u'a\u0007b'     # prohibited: used unchanged, as libpq does


# -- MySQL / MariaDB ---------------------------------------------------------------------------------------

def test_mysql_native_password_right_and_wrong():
    users = {'harbor': (PASSWORD, 'mysql_native_password')}
    with FakeMySQL(users=users) as server:
        good = mysql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
        bad = mysql_login('127.0.0.1', server.port, 'harbor', 'wrong', 'registry', timeout=2)
    assert good['ok'] and good['server_version'] == '10.11.99-MariaDB-fake' and good['auth_method'] == 'mysql_native_password', good
    assert (bad['ok'], bad['step'], bad['cause'], bad['code']) == (False, 'auth', 'password', '1045'), bad
    assert 'Access denied' in bad['msg'] and 'SQLSTATE 28000' in bad['msg']
    assert server.seen[0] == {'user': 'harbor', 'database': 'registry', 'plugin': 'mysql_native_password'}
    assert eventually(lambda: 'quit' in server.seen)


def test_mysql_unknown_database_and_blocked_host():
    with FakeMySQL(users={'harbor': (PASSWORD, 'mysql_native_password')}) as server:
        res = mysql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'nodb', timeout=2)
    assert (res['step'], res['cause'], res['code']) == ('database', 'database', '1049'), res
    with FakeMySQL(host_blocked=True) as server:
        res = mysql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
    assert (res['step'], res['cause'], res['code']) == ('handshake', 'access', '1130'), res


def test_mysql_follows_an_auth_switch_to_native_password():
    """A MySQL 8 server announces caching_sha2_password; an account on mysql_native_password switches."""
    with FakeMySQL(users={'harbor': (PASSWORD, 'mysql_native_password')}, announce='caching_sha2_password') as server:
        res = mysql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
    assert res['ok'] and res['auth_method'] == 'mysql_native_password', res
    assert 'switch:mysql_native_password' in server.seen


def test_mysql_caching_sha2_fast_path_and_full_authentication():
    users = {'harbor': (PASSWORD, 'caching_sha2_password')}
    with FakeMySQL(users=users, announce='caching_sha2_password') as server:
        fast = mysql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
        wrong = mysql_login('127.0.0.1', server.port, 'harbor', 'wrong', 'registry', timeout=2)
    assert fast['ok'] and fast['auth_method'] == 'caching_sha2_password', fast
    assert wrong['cause'] == 'password', wrong
    with FakeMySQL(users=users, announce='caching_sha2_password', cached=False) as server:
        full = mysql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
    assert (full['ok'], full['cause']) == (False, 'unsupported') and 'not do' in full['msg'], full


def test_mysql_unspoken_plugin_is_unsupported():
    with FakeMySQL(users={'harbor': (PASSWORD, 'client_ed25519')}) as server:
        res = mysql_login('127.0.0.1', server.port, 'harbor', PASSWORD, 'registry', timeout=2)
    assert (res['ok'], res['cause']) == (False, 'unsupported') and 'client_ed25519' in res['msg'], res


def test_mysql_refused_port():
    res = mysql_login('127.0.0.1', closed_port(), 'harbor', PASSWORD, 'registry', timeout=1)
    assert (res['step'], res['cause']) == ('connect', 'unreachable'), res


# -- Ceph, with a stand-in for the ceph CLI ----------------------------------------------------------------

FAKE_CEPH = r'''#!/bin/sh
# Stand-in for the ceph CLI (answers as Ceph 16.2 does): the key must come in CEPH_ARGS, never on the command line.
for arg in "$@"; do case "$arg" in *AQ*) echo "key on the command line" >&2; exit 99;; esac; done
echo "$*" > "$(dirname "$0")/argv"
case "$CEPH_ARGS" in
  "--key=AQDEFA9r+RojDxAA5hHn6nyKNO0wfJoB8N2DPA==")
    case "$*" in *"mon stat"*) echo "e1: 1 mons at {services=[v2:10.0.0.1:3300/0,v1:10.0.0.1:6789/0]} quorum 0 services"; exit 0;; esac
    echo "Error EACCES: access denied" >&2; exit 13;;
  "--key=AQDEFA9r+RojDxAA5hHn6nyKNO0wfJpU8N2Dww==")
    echo "[errno 13] RADOS permission denied (error connecting to the cluster)" >&2; exit 13;;
  "--key=slow") sleep 30;;
  "--key=unreachable") echo "timed out" >&2; exit 1;;
  *) echo "2026-12-04T17:29:22.263+0000 7f127041b6c0 -1 auth: failed to decode key '${CEPH_ARGS#--key=}'" >&2
     echo "2026-12-04T17:29:22.263+0000 7f127041b6c0 -1 monclient: keyring not found" >&2
     echo "[errno 22] RADOS invalid argument (error connecting to the cluster)" >&2; exit 1;;
esac
'''
GOOD_KEY = 'AQDEFA9r+RojDxAA5hHn6nyKNO0wfJoB8N2DPA=='
WRONG_KEY = 'AQDEFA9r+RojDxAA5hHn6nyKNO0wfJpU8N2Dww=='


@pytest.fixture
def fake_ceph(tmp_path):
    path = tmp_path / 'ceph'
    path.write_text(FAKE_CEPH)
    path.chmod(0o755)
    return str(path)


def test_ceph_right_key_passes_it_only_through_the_environment(fake_ceph, tmp_path):
    res = ceph_login(fake_ceph, ['10.0.0.1:6789', '10.0.0.2:6789'], 'harbor', GOOD_KEY, timeout=3)
    assert res['ok'] and res['client'] == 'client.harbor' and 'quorum' in res['msg'], res
    assert (tmp_path / 'argv').read_text().split() == ['-c', '/dev/null', '--keyring', '/dev/null', '--connect-timeout', '3',
                                                       '-m', '10.0.0.1:6789,10.0.0.2:6789', '--id', 'harbor', 'mon', 'stat']


def test_ceph_wrong_key_is_cause_key(fake_ceph):
    res = ceph_login(fake_ceph, ['10.0.0.1:6789'], 'harbor', WRONG_KEY, timeout=3)
    assert (res['ok'], res['step'], res['cause'], res['code']) == (False, 'auth', 'key', '13'), res
    assert 'permission denied' in res['msg'] and WRONG_KEY not in res['msg']


def test_ceph_a_command_outside_the_caps_still_proves_the_key(fake_ceph):
    res = ceph_login(fake_ceph, ['10.0.0.1:6789'], 'harbor', GOOD_KEY, command=['osd', 'dump'], timeout=3)
    assert res['ok'] and 'outside' in res['msg'], res


def test_ceph_timeouts_and_an_undecodable_key(fake_ceph):
    res = ceph_login(fake_ceph, ['10.0.0.1:6789'], 'harbor', 'unreachable', timeout=3)
    assert (res['ok'], res['cause']) == (False, 'timeout'), res
    res = ceph_login(fake_ceph, ['10.0.0.1:6789'], 'harbor', 'not-base64!', timeout=3)
    assert (res['ok'], res['cause']) == (False, 'key') and 'not-base64!' not in res['msg'], res


# -- the module, run as Ansible runs it ----------------------------------------------------------------------

def run_module(tmp_path, check=False, **args):
    args_file = tmp_path / 'args.json'
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=check)}))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.run([sys.executable, MODULE, str(args_file)], capture_output=True, text=True, check=False, env=env)
    return json.loads(proc.stdout)


def test_module_reports_each_login_and_fails_naming_the_refused_one(tmp_path, fake_ceph):
    with FakeRedis(password=PASSWORD) as redis, FakePostgres(users={'harbor': PASSWORD}) as postgres:
        args = dict(redis={'host': '127.0.0.1', 'port': redis.port, 'password': 'wrong-redis-pw', 'databases': [0, 1, 2]},
                    postgresql={'host': '127.0.0.1', 'port': postgres.port, 'user': 'harbor', 'password': PASSWORD,
                                'database': 'registry'},
                    ceph={'monitors': ['10.0.0.1:6789'], 'name': 'harbor', 'key': GOOD_KEY, 'executable': fake_ceph},
                    timeout=2)
        failed = run_module(tmp_path, **args)
        reported = run_module(tmp_path, check=True, fail_on_error=False, **args)
    assert failed['failed'] and failed['failed_checks'] == ['redis'] and 'refused AUTH' in failed['msg'], failed
    assert not reported.get('failed') and not reported['changed'] and reported['failed_checks'] == ['redis'], reported
    assert reported['postgresql']['ok'] and reported['ceph']['ok'] and reported['redis']['cause'] == 'password'
    text = json.dumps([failed, reported])
    assert 'wrong-redis-pw' not in text and PASSWORD not in text and GOOD_KEY not in text


def test_module_skips_ceph_without_the_cli_and_ignores_causes(tmp_path):
    with FakeMySQL(users={'harbor': (PASSWORD, 'client_ed25519')}) as mysql:
        res = run_module(tmp_path, ceph={'monitors': ['10.0.0.1:6789'], 'name': 'harbor', 'key': GOOD_KEY,
                                         'executable': 'no-such-ceph-cli'},
                         mysql={'host': '127.0.0.1', 'port': mysql.port, 'user': 'harbor', 'password': PASSWORD,
                                'database': 'registry'}, ignore=['unsupported'], timeout=2)
    assert not res.get('failed') and res['failed_checks'] == [], res
    assert res['ceph']['skipped'] and res['ceph']['cause'] == 'missing_cli' and 'not installed' in res['ceph']['msg']
    assert res['mysql']['cause'] == 'unsupported'


def test_module_probes_tcp_addresses_and_reports_the_hosts_clock(tmp_path):
    closed = closed_port()
    with FakeRedis(password=PASSWORD) as redis:
        before = time.time()
        reached = run_module(tmp_path, tcp=[{'host': '127.0.0.1', 'port': redis.port, 'name': 'the external Redis'}], timeout=2)
        after = time.time()
        refused = run_module(tmp_path, tcp=[{'host': '127.0.0.1', 'port': redis.port, 'name': 'the external Redis'},
                                            {'host': '127.0.0.1', 'port': closed, 'name': 'the external database'}],
                             timeout=1, fail_on_error=False)
        failed = run_module(tmp_path, tcp=[{'host': '127.0.0.1', 'port': closed, 'name': 'the external database'}], timeout=1)
    assert not reached.get('failed') and reached['failed_checks'] == [] and reached['tcp'][0]['ok'], reached
    assert before <= reached['time'] <= after, reached
    assert [probe['ok'] for probe in refused['tcp']] == [True, False] and refused['failed_checks'] == ['tcp'], refused
    assert refused['tcp'][1]['cause'] == 'unreachable' and '127.0.0.1:%d' % closed in refused['tcp'][1]['msg'], refused
    assert 'the external database' in refused['tcp'][1]['msg'], refused
    assert failed['failed'] and 'the external database' in failed['msg'], failed


def test_module_needs_something_to_check(tmp_path):
    res = run_module(tmp_path)
    assert res['failed'] and 'one of the following is required' in res['msg'], res


# -- a real PostgreSQL, when this machine has one ------------------------------------------------------------

def find_pg_bin():
    for version in ('17', '16', '15', '14', '13'):
        path = '/usr/lib/postgresql/%s/bin' % version
        if os.path.exists(os.path.join(path, 'initdb')):
            return path
    return None


@pytest.fixture(scope='module')
def real_postgres():
    """A throwaway PostgreSQL on a loopback port: scram-sha-256 for harbor, md5 for md5user, TLS on."""
    bindir = find_pg_bin()
    if not bindir:
        pytest.skip('PostgreSQL is not installed on this machine')
    runas = []
    if os.getuid() == 0:        # initdb refuses root: run the server as the postgres (or nobody) user
        import pwd  # pylint: disable=import-outside-toplevel
        for name in ('postgres', 'nobody'):
            try:
                user = pwd.getpwnam(name)
                break
            except KeyError:
                continue
        else:
            pytest.skip('no unprivileged user to run PostgreSQL as')
        runas = ['runuser', '-u', user.pw_name, '--']
    base = tempfile.mkdtemp(prefix='service-login-pg-')
    os.chmod(base, 0o755)
    try:
        pwfile = os.path.join(base, 'pw')
        with open(pwfile, 'w') as handle:
            handle.write('admin-pw\n')
        key, cert = os.path.join(base, 'server.key'), os.path.join(base, 'server.crt')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
                        '-subj', '/CN=localhost'], check=True, capture_output=True)
        os.chmod(key, 0o600)
        if runas:
            for path in (base, pwfile, key, cert):
                os.chown(path, user.pw_uid, user.pw_gid)
        data = os.path.join(base, 'data')
        subprocess.run(runas + [bindir + '/initdb', '-D', data, '-U', 'admin', '--pwfile', pwfile, '--auth', 'scram-sha-256',
                                '-E', 'UTF8'], check=True, capture_output=True)
        port = closed_port()
        options = "-p %d -k %s -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=%s -c ssl_key_file=%s" % (port, base, cert, key)
        subprocess.run(runas + [bindir + '/pg_ctl', '-D', data, '-l', os.path.join(base, 'log'), '-o', options, '-w', 'start'],
                       check=True, capture_output=True)
        statements = ["CREATE ROLE harbor LOGIN PASSWORD '%s'" % PASSWORD.replace("'", "''"), 'CREATE DATABASE registry OWNER harbor',
                      "SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD 'md5-pw'"]
        subprocess.run(runas + [bindir + '/psql', '-h', base, '-p', str(port), '-U', 'admin', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1']
                       + [arg for sql in statements for arg in ('-c', sql)],
                       check=True, capture_output=True, env=dict(os.environ, PGPASSWORD='admin-pw'))
        with open(os.path.join(data, 'pg_hba.conf'), 'w') as handle:
            handle.write('local all all trust\nhost all md5user 127.0.0.1/32 md5\nhost all harbor 127.0.0.1/32 scram-sha-256\n'
                         'host all admin 127.0.0.1/32 scram-sha-256\n')
        subprocess.run(runas + [bindir + '/pg_ctl', '-D', data, 'reload'], check=True, capture_output=True)
        yield port
    finally:
        subprocess.run(runas + [bindir + '/pg_ctl', '-D', os.path.join(base, 'data'), '-m', 'immediate', 'stop'],
                       capture_output=True, check=False)
        shutil.rmtree(base, ignore_errors=True)


def test_real_postgresql_scram_md5_tls_and_refusals(real_postgres):
    port = real_postgres
    good = postgresql_login('127.0.0.1', port, 'harbor', PASSWORD, 'registry', timeout=5)
    assert good['ok'] and good['auth_method'] == 'scram-sha-256', good
    tls = postgresql_login('127.0.0.1', port, 'harbor', PASSWORD, 'registry', timeout=5, ssl_mode='require')
    assert tls['ok'] and tls['tls'], tls
    md5 = postgresql_login('127.0.0.1', port, 'md5user', 'md5-pw', 'postgres', timeout=5)
    assert md5['ok'] and md5['auth_method'] == 'md5', md5
    wrong = postgresql_login('127.0.0.1', port, 'harbor', 'wrong', 'registry', timeout=5, ssl_mode='require')
    assert (wrong['cause'], wrong['code']) == ('password', '28P01'), wrong
    nodb = postgresql_login('127.0.0.1', port, 'harbor', PASSWORD, 'nodb', timeout=5)
    assert (nodb['cause'], nodb['code']) == ('database', '3D000'), nodb
    nohba = postgresql_login('127.0.0.1', port, 'nobody-here', PASSWORD, 'registry', timeout=5)
    assert (nohba['cause'], nohba['code']) == ('access', '28000'), nohba
