# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is not a public interface of the collection. It may change
# or go away in any release, without deprecation. Use the service_login module instead.

"""Client logins to Redis, PostgreSQL, MySQL/MariaDB and Ceph, with the Python standard library only.

Harbor nodes are plain hosts: no psycopg2, PyMySQL or redis-py, and a read-only check must not install
them. Each login speaks just enough of the wire protocol to prove a credential the way Harbor's own
client would present it, and explains a refusal:

* Redis (RESP): AUTH [username] password, SELECT of every database index, PING.
* PostgreSQL (protocol 3.0): startup (user, database), AuthenticationOk, cleartext, MD5 or SCRAM-SHA-256
  (RFC 5802 / RFC 7677, no channel binding), optionally inside TLS after SSLRequest; ErrorResponse SQLSTATE.
* MySQL / MariaDB (protocol 10): mysql_native_password (and caching_sha2_password's fast path), following
  AuthSwitchRequest; the ERR packet's error number and SQLSTATE.
* Ceph: the real ``ceph`` CLI with the key passed through the CEPH_ARGS environment variable (never on the
  command line, never on disk).

Every login returns a dict: service, target, ok, skipped, step, cause, code, msg (never a password).
``cause`` is one word the caller maps to the variable at fault: unreachable, timeout, protocol, tls,
password, auth_required, no_password_set, access, database, db_index, permission, key, unsupported, error.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import base64
import hashlib
import hmac
import os
import re
import socket
import ssl
import stringprep
import struct
import subprocess
import unicodedata


class LoginFailure(Exception):
    """A login step failed; ``cause`` classifies it, ``code`` is the server's own error code when it gave one."""

    def __init__(self, step, cause, message, code=None):
        super(LoginFailure, self).__init__(message)
        self.step = step
        self.cause = cause
        self.code = code
        self.message = message


def result(service, target, ok, step, msg, cause=None, code=None, skipped=False, **extra):
    data = dict(service=service, target=target, ok=ok, skipped=skipped, step=step, cause=cause, code=code, msg=msg)
    data.update(extra)
    return data


def failure_result(service, target, failure, **extra):
    return result(service, target, False, failure.step, failure.message, cause=failure.cause, code=failure.code, **extra)


def join_host_port(host, port):
    return '[%s]:%s' % (host, port) if ':' in host else '%s:%s' % (host, port)


# -- sockets -----------------------------------------------------------------------------------------------

def open_connection(host, port, timeout, what):
    """A TCP connection, or a LoginFailure that says why there is none."""
    target = join_host_port(host, port)
    try:
        return socket.create_connection((host, int(port)), timeout=timeout)
    except socket.timeout:
        raise LoginFailure('connect', 'unreachable', 'no TCP connection to %s at %s within %s s' % (what, target, timeout))
    except socket.gaierror as exc:
        raise LoginFailure('connect', 'unreachable', 'cannot resolve the host of %s %s: %s' % (what, target, exc.strerror or exc))
    except (OSError, socket.error) as exc:
        raise LoginFailure('connect', 'unreachable', 'no TCP connection to %s at %s: %s'
                           % (what, target, getattr(exc, 'strerror', None) or exc))


def tcp_probe(host, port, timeout, name=None):
    """A TCP connect only (no login): whether the host reaches the address at all, and why not."""
    what = name or 'the service'
    target = join_host_port(host, port)
    try:
        open_connection(host, port, timeout, what).close()
    except LoginFailure as failure:
        return dict(name=name, host=host, port=int(port), target=target, ok=False, cause=failure.cause, msg=failure.message)
    return dict(name=name, host=host, port=int(port), target=target, ok=True, cause=None,
                msg='%s at %s accepts TCP connections' % (what, target))


class Wire(object):
    """Exact reads from a socket, with failures that name the step and the service."""

    def __init__(self, sock, what, timeout):
        self.sock = sock
        self.what = what
        self.timeout = timeout
        self.buffer = b''
        self.step = 'connect'

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise LoginFailure(self.step, 'timeout', '%s sent no answer within %s s (step %s)' % (self.what, self.timeout, self.step))
        except ssl.SSLError as exc:
            raise LoginFailure(self.step, 'tls', 'TLS error talking to %s: %s' % (self.what, exc))
        except (OSError, socket.error) as exc:
            raise LoginFailure(self.step, 'protocol', 'the connection to %s broke (step %s): %s' % (self.what, self.step, exc))
        if not chunk:
            raise LoginFailure(self.step, 'protocol', '%s closed the connection (step %s)' % (self.what, self.step))
        self.buffer += chunk

    def read(self, size):
        while len(self.buffer) < size:
            self._fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def read_line(self):
        while b'\r\n' not in self.buffer:
            if len(self.buffer) > 1024 * 1024:
                raise LoginFailure(self.step, 'protocol', '%s sent a line longer than 1 MiB' % self.what)
            self._fill()
        line, dummy, self.buffer = self.buffer.partition(b'\r\n')
        return line

    def send(self, data):
        try:
            self.sock.sendall(data)
        except socket.timeout:
            raise LoginFailure(self.step, 'timeout', 'could not send to %s within %s s (step %s)' % (self.what, self.timeout, self.step))
        except (OSError, socket.error) as exc:
            raise LoginFailure(self.step, 'protocol', 'the connection to %s broke (step %s): %s' % (self.what, self.step, exc))

    def close(self):
        try:
            self.sock.close()
        except (OSError, socket.error):
            pass


# -- Redis -------------------------------------------------------------------------------------------------

class RedisError(Exception):
    """An error reply (-ERR ...)."""


def resp_command(*args):
    parts = [b'*%d\r\n' % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode('utf-8')
        parts.append(b'$%d\r\n%s\r\n' % (len(data), data))
    return b''.join(parts)


def resp_read(wire):
    """One RESP2/RESP3 reply; error replies are returned as RedisError instances (not raised)."""
    line = wire.read_line()
    if not line:
        raise LoginFailure(wire.step, 'protocol', '%s sent an empty line; is it a Redis server?' % wire.what)
    kind, rest = line[:1], line[1:]
    text = rest.decode('utf-8', 'replace')
    if kind == b'+':
        return text
    if kind == b'-':
        return RedisError(text)
    if kind == b':':
        return int(rest)
    if kind == b'$':
        size = int(rest)
        if size < 0:
            return None
        data = wire.read(size + 2)[:-2]
        return data.decode('utf-8', 'replace')
    if kind == b'*':
        count = int(rest)
        return None if count < 0 else [resp_read(wire) for dummy in range(count)]
    raise LoginFailure(wire.step, 'protocol', '%s answered %r, not a Redis reply; is it a Redis server?' % (wire.what, line[:40]))


def first_word(reply):
    return str(reply).split(' ', 1)[0]


def redis_error_cause(step, text):
    upper = text.upper()
    if upper.startswith('WRONGPASS') or 'INVALID PASSWORD' in upper or 'INVALID USERNAME-PASSWORD' in upper:
        return 'password'
    if upper.startswith('NOAUTH'):
        return 'auth_required'
    if 'NO PASSWORD IS SET' in upper or 'WITHOUT ANY PASSWORD CONFIGURED' in upper:
        return 'no_password_set'
    if step == 'select' and ('DB INDEX' in upper or 'INVALID DB' in upper):
        return 'db_index'
    if upper.startswith('NOPERM'):
        return 'permission'
    return 'error'


def redis_login(host, port, password=None, username=None, databases=(0,), timeout=5.0):
    """AUTH (when a password is given), SELECT every index, PING."""
    target = join_host_port(host, port)
    what = 'Redis at %s' % target
    databases = sorted(set(int(d) for d in databases)) or [0]
    selected = []
    try:
        wire = Wire(open_connection(host, port, timeout, 'Redis'), what, timeout)
    except LoginFailure as failure:
        return failure_result('redis', target, failure, databases=selected)
    try:
        if password:
            wire.step = 'auth'
            args = ('AUTH', username, password) if username else ('AUTH', password)
            wire.send(resp_command(*args))
            reply = resp_read(wire)
            if isinstance(reply, RedisError):
                cause = redis_error_cause('auth', str(reply))
                who = 'user %s' % username if username else 'the password'
                raise LoginFailure('auth', cause, '%s refused AUTH with %s: %s' % (what, who, reply), code=first_word(reply))
        for index in databases:
            wire.step = 'select'
            wire.send(resp_command('SELECT', index))
            reply = resp_read(wire)
            if isinstance(reply, RedisError):
                cause = redis_error_cause('select', str(reply))
                if cause == 'auth_required':
                    message = '%s requires a password (SELECT %d answered: %s), but none was given' % (what, index, reply)
                else:
                    message = '%s refused SELECT %d: %s' % (what, index, reply)
                failure = LoginFailure('select', cause, message, code=first_word(reply))
                return failure_result('redis', target, failure, databases=selected, failed_database=index)
            selected.append(index)
        wire.step = 'ping'
        wire.send(resp_command('PING'))
        reply = resp_read(wire)
        if isinstance(reply, RedisError):
            raise LoginFailure('ping', redis_error_cause('ping', str(reply)), '%s refused PING: %s' % (what, reply),
                               code=first_word(reply))
        if reply != 'PONG':
            raise LoginFailure('ping', 'protocol', '%s answered PING with %r; is it a Redis server?' % (what, reply))
        wire.step = 'quit'
        wire.send(resp_command('QUIT'))
        resp_read(wire)
    except LoginFailure as failure:
        if failure.step == 'quit':
            return result('redis', target, True, 'ping', '%s: SELECT %s and PING succeeded' % (what, ', '.join(str(d) for d in selected)),
                          databases=selected)
        return failure_result('redis', target, failure, databases=selected)
    finally:
        wire.close()
    how = 'AUTH%s, ' % (' as %s' % username if username else '') if password else 'no AUTH (no password given), '
    return result('redis', target, True, 'ping', '%s: %sSELECT %s and PING succeeded' % (what, how, ', '.join(str(d) for d in selected)),
                  databases=selected)


# -- SCRAM-SHA-256 (RFC 5802 / RFC 7677) ---------------------------------------------------------------------

def saslprep(text):
    """RFC 4013 SASLprep as PostgreSQL's client applies it: ASCII stays as it is; when the result would be
    invalid (prohibited characters, bad bidi), the password is used unchanged."""
    if all(ord(ch) < 128 for ch in text):
        return text
    mapped = []
    for char in text:
        if stringprep.in_table_c12(char):
            mapped.append(' ')
        elif not stringprep.in_table_b1(char):
            mapped.append(char)
    normalized = unicodedata.normalize('NFKC', ''.join(mapped))
    if not normalized:
        return text
    prohibited = (stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3, stringprep.in_table_c4,
                  stringprep.in_table_c5, stringprep.in_table_c6, stringprep.in_table_c7, stringprep.in_table_c8,
                  stringprep.in_table_c9, stringprep.in_table_a1)
    if any(check(char) for char in normalized for check in prohibited):
        return text
    if any(stringprep.in_table_d1(char) for char in normalized):
        if any(stringprep.in_table_d2(char) for char in normalized):
            return text
        if not (stringprep.in_table_d1(normalized[0]) and stringprep.in_table_d1(normalized[-1])):
            return text
    return normalized


class ScramClient(object):
    """The client side of SCRAM-SHA-256 without channel binding (gs2 header ``n,,``)."""

    def __init__(self, password, nonce=None):
        self.password = saslprep(password).encode('utf-8')
        self.nonce = nonce or base64.b64encode(os.urandom(18)).decode('ascii')
        self.client_first_bare = 'n=,r=%s' % self.nonce
        self.auth_message = None
        self.server_signature = None

    def first_message(self):
        return ('n,,' + self.client_first_bare).encode('ascii')

    def final_message(self, server_first):
        text = server_first.decode('utf-8')
        fields = dict(item.split('=', 1) for item in text.split(',') if '=' in item)
        nonce, salt, iterations = fields.get('r', ''), fields.get('s'), fields.get('i')
        if not nonce.startswith(self.nonce) or salt is None or iterations is None:
            raise ValueError('the server-first message is malformed or does not extend our nonce')
        salted = hashlib.pbkdf2_hmac('sha256', self.password, base64.b64decode(salt), int(iterations))
        client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        without_proof = 'c=biws,r=%s' % nonce
        self.auth_message = ('%s,%s,%s' % (self.client_first_bare, text, without_proof)).encode('utf-8')
        signature = hmac.new(stored_key, self.auth_message, hashlib.sha256).digest()
        proof = bytes(bytearray(a ^ b for a, b in zip(bytearray(client_key), bytearray(signature))))
        server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
        self.server_signature = hmac.new(server_key, self.auth_message, hashlib.sha256).digest()
        return ('%s,p=%s' % (without_proof, base64.b64encode(proof).decode('ascii'))).encode('ascii')

    def verify_final(self, server_final):
        fields = dict(item.split('=', 1) for item in server_final.decode('utf-8').split(',') if '=' in item)
        if 'e' in fields:
            raise ValueError('the server reported a SCRAM error: %s' % fields['e'])
        return hmac.compare_digest(base64.b64decode(fields.get('v', '')), self.server_signature or b'')


# -- PostgreSQL ----------------------------------------------------------------------------------------------

PG_PROTOCOL = 196608          # 3.0
PG_SSL_REQUEST = 80877103
PG_SQLSTATE_CAUSES = {
    '28P01': 'password',      # invalid_password (also: no such user; the server does not tell them apart)
    '28000': 'access',        # invalid_authorization_specification: no pg_hba.conf entry, role may not log in
    '3D000': 'database',      # invalid_catalog_name: no such database
    '42501': 'database',      # insufficient_privilege: no CONNECT on the database
}
PG_AUTH_NAMES = {2: 'Kerberos V5', 6: 'SCM credentials', 7: 'GSSAPI', 8: 'GSSAPI', 9: 'SSPI'}


def pg_message(kind, payload):
    return kind + struct.pack('!i', len(payload) + 4) + payload


def pg_read(wire):
    kind = wire.read(1)
    size = struct.unpack('!i', wire.read(4))[0]
    if size < 4 or size > 16 * 1024 * 1024:
        raise LoginFailure(wire.step, 'protocol', '%s sent a message of impossible length %d; is it PostgreSQL?' % (wire.what, size))
    return kind, wire.read(size - 4)


def pg_error_fields(payload):
    fields = {}
    for item in payload.split(b'\0'):
        if item:
            fields[item[:1].decode('ascii', 'replace')] = item[1:].decode('utf-8', 'replace')
    return fields


def pg_wrap_tls(wire, host, ssl_mode):
    wire.step = 'tls'
    wire.send(struct.pack('!ii', 8, PG_SSL_REQUEST))
    answer = wire.read(1)
    if answer == b'N':
        if ssl_mode == 'prefer':
            return False
        raise LoginFailure('tls', 'tls', '%s does not accept TLS connections (sslmode %s)' % (wire.what, ssl_mode))
    if answer != b'S':
        raise LoginFailure('tls', 'protocol', '%s answered the TLS request with %r; is it PostgreSQL?' % (wire.what, answer))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # The probe proves the credential; verify-ca / verify-full certificates are Harbor's to check.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        wire.sock = context.wrap_socket(wire.sock, server_hostname=host)
    except (ssl.SSLError, OSError, socket.error) as exc:
        raise LoginFailure('tls', 'tls', 'TLS handshake with %s failed: %s' % (wire.what, exc))
    return True


def postgresql_login(host, port, user, password, database, timeout=5.0, ssl_mode='disable'):
    """Log in as the user to the database; read until ReadyForQuery, then terminate."""
    target = join_host_port(host, port)
    what = 'PostgreSQL at %s' % target
    extra = dict(user=user, database=database, auth_method=None, tls=False, server_version=None)
    try:
        wire = Wire(open_connection(host, port, timeout, 'PostgreSQL'), what, timeout)
    except LoginFailure as failure:
        return failure_result('postgresql', target, failure, **extra)
    try:
        if ssl_mode != 'disable':
            extra['tls'] = pg_wrap_tls(wire, host, ssl_mode)
        wire.step = 'startup'
        params = b''.join(k + b'\0' + v.encode('utf-8') + b'\0' for k, v in (
            (b'user', user), (b'database', database), (b'application_name', 'harbor-ha-preflight'), (b'client_encoding', 'UTF8')))
        wire.send(struct.pack('!ii', len(params) + 9, PG_PROTOCOL) + params + b'\0')
        scram = None
        authenticated = False
        while True:
            kind, body = pg_read(wire)
            if kind == b'E':
                fields = pg_error_fields(body)
                code = fields.get('C')
                cause = PG_SQLSTATE_CAUSES.get(code, 'error')
                step = 'database' if authenticated else ('auth' if wire.step == 'auth' or cause == 'password' else wire.step)
                text = fields.get('M', 'error')
                if fields.get('D'):
                    text += ' (%s)' % fields['D']
                raise LoginFailure(step, cause, '%s refused user %s, database %s: %s [SQLSTATE %s]'
                                   % (what, user, database, text, code), code=code)
            if kind == b'R':
                wire.step = 'auth'
                method = struct.unpack('!i', body[:4])[0]
                if method == 0:
                    authenticated = True
                elif method == 3:
                    extra['auth_method'] = 'password'
                    wire.send(pg_message(b'p', password.encode('utf-8') + b'\0'))
                elif method == 5:
                    extra['auth_method'] = 'md5'
                    inner = hashlib.md5(password.encode('utf-8') + user.encode('utf-8')).hexdigest().encode('ascii')
                    outer = b'md5' + hashlib.md5(inner + body[4:8]).hexdigest().encode('ascii')
                    wire.send(pg_message(b'p', outer + b'\0'))
                elif method == 10:
                    mechanisms = [m.decode('ascii', 'replace') for m in body[4:].split(b'\0') if m]
                    if 'SCRAM-SHA-256' not in mechanisms:
                        raise LoginFailure('auth', 'unsupported', '%s offers SASL mechanisms %s; this probe speaks SCRAM-SHA-256 only'
                                           % (what, ', '.join(mechanisms)))
                    extra['auth_method'] = 'scram-sha-256'
                    scram = ScramClient(password)
                    first = scram.first_message()
                    wire.send(pg_message(b'p', b'SCRAM-SHA-256\0' + struct.pack('!i', len(first)) + first))
                elif method == 11 and scram is not None:
                    try:
                        wire.send(pg_message(b'p', scram.final_message(body[4:])))
                    except ValueError as exc:
                        raise LoginFailure('auth', 'protocol', '%s: SCRAM exchange failed: %s' % (what, exc))
                elif method == 12 and scram is not None:
                    try:
                        genuine = scram.verify_final(body[4:])
                    except ValueError as exc:
                        raise LoginFailure('auth', 'protocol', '%s: SCRAM exchange failed: %s' % (what, exc))
                    if not genuine:
                        raise LoginFailure('auth', 'protocol', "%s accepted the password but its SCRAM server signature is wrong "
                                           "(a man in the middle, or not the server you think)" % what)
                else:
                    raise LoginFailure('auth', 'unsupported', '%s asks for %s authentication (method %d), which this probe does not speak'
                                       % (what, PG_AUTH_NAMES.get(method, 'an unknown'), method))
            elif kind == b'S':
                name, dummy, value = body.partition(b'\0')
                if name == b'server_version':
                    extra['server_version'] = value.rstrip(b'\0').decode('utf-8', 'replace')
            elif kind == b'Z':
                break
            # K (BackendKeyData), N (NoticeResponse), v (NegotiateProtocolVersion): nothing to do
        wire.send(pg_message(b'X', b''))
    except LoginFailure as failure:
        return failure_result('postgresql', target, failure, **extra)
    finally:
        wire.close()
    return result('postgresql', target, True, 'ready', '%s: user %s logged in to database %s (%s%s)'
                  % (what, user, database, extra['auth_method'] or 'trust', ', TLS' if extra['tls'] else ''), **extra)


# -- MySQL / MariaDB -----------------------------------------------------------------------------------------

CLIENT_LONG_PASSWORD = 0x1
CLIENT_LONG_FLAG = 0x4
CLIENT_CONNECT_WITH_DB = 0x8
CLIENT_PROTOCOL_41 = 0x200
CLIENT_TRANSACTIONS = 0x2000
CLIENT_SECURE_CONNECTION = 0x8000
CLIENT_PLUGIN_AUTH = 0x80000
MYSQL_ERRNO_CAUSES = {
    1045: 'password',         # ER_ACCESS_DENIED_ERROR: wrong password, or no such user@host
    1130: 'access',           # ER_HOST_NOT_PRIVILEGED: no account for this client host
    1049: 'database',         # ER_BAD_DB_ERROR: no such database
    1044: 'database',         # ER_DBACCESS_DENIED_ERROR: no grant on the database
    1251: 'unsupported',      # ER_NOT_SUPPORTED_AUTH_MODE
}


def mysql_native_scramble(password, nonce):
    if not password:
        return b''
    first = hashlib.sha1(password.encode('utf-8')).digest()
    second = hashlib.sha1(first).digest()
    mix = hashlib.sha1(nonce + second).digest()
    return bytes(bytearray(a ^ b for a, b in zip(bytearray(first), bytearray(mix))))


def mysql_sha2_scramble(password, nonce):
    if not password:
        return b''
    first = hashlib.sha256(password.encode('utf-8')).digest()
    mix = hashlib.sha256(hashlib.sha256(first).digest() + nonce).digest()
    return bytes(bytearray(a ^ b for a, b in zip(bytearray(first), bytearray(mix))))


MYSQL_SCRAMBLES = {'mysql_native_password': mysql_native_scramble, 'caching_sha2_password': mysql_sha2_scramble}


def mysql_read(wire):
    header = bytearray(wire.read(4))
    size = header[0] | (header[1] << 8) | (header[2] << 16)
    return header[3], bytes(wire.read(size))


def mysql_packet(sequence, payload):
    size = len(payload)
    return struct.pack('<BBBB', size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff, sequence & 0xff) + payload


def mysql_error(what, step, payload, user, database):
    errno = struct.unpack('<H', payload[1:3])[0]
    rest = payload[3:]
    state = None
    if rest[:1] == b'#':
        state, rest = rest[1:6].decode('ascii', 'replace'), rest[6:]
    text = rest.decode('utf-8', 'replace')
    cause = MYSQL_ERRNO_CAUSES.get(errno, 'error')
    if step != 'auth' and cause == 'password':
        cause = 'error'
    return LoginFailure(step if cause != 'database' else 'database', cause, '%s refused user %s, database %s: %s [error %d%s]'
                        % (what, user, database, text, errno, ', SQLSTATE %s' % state if state else ''), code=str(errno))


def mysql_parse_handshake(what, payload):
    if payload[:1] != b'\x0a':
        raise LoginFailure('handshake', 'protocol', '%s speaks protocol %r, not 10; is it MySQL/MariaDB?' % (what, payload[:1]))
    end = payload.index(b'\0', 1)
    version = payload[1:end].decode('utf-8', 'replace')
    pos = end + 1 + 4
    nonce = payload[pos:pos + 8]
    pos += 8 + 1
    caps = struct.unpack('<H', payload[pos:pos + 2])[0]
    pos += 2 + 1 + 2
    plugin = 'mysql_native_password'
    if len(payload) >= pos + 2:
        caps |= struct.unpack('<H', payload[pos:pos + 2])[0] << 16
        pos += 2
        data_len = bytearray(payload[pos:pos + 1])[0] if len(payload) > pos else 0
        pos += 1 + 10
        if caps & CLIENT_SECURE_CONNECTION:
            part2 = max(13, data_len - 8)
            nonce += payload[pos:pos + part2].rstrip(b'\0')
            pos += part2
        if caps & CLIENT_PLUGIN_AUTH and pos < len(payload):
            plugin = payload[pos:].split(b'\0', 1)[0].decode('ascii', 'replace') or plugin
    return version, caps, nonce, plugin


def mysql_login(host, port, user, password, database, timeout=5.0):
    """Handshake v10, HandshakeResponse41 with the database, the auth exchange, COM_QUIT."""
    target = join_host_port(host, port)
    what = 'MySQL/MariaDB at %s' % target
    extra = dict(user=user, database=database, auth_method=None, server_version=None)
    try:
        wire = Wire(open_connection(host, port, timeout, 'MySQL/MariaDB'), what, timeout)
    except LoginFailure as failure:
        return failure_result('mysql', target, failure, **extra)
    try:
        wire.step = 'handshake'
        sequence, payload = mysql_read(wire)
        if payload[:1] == b'\xff':
            raise mysql_error(what, 'handshake', payload, user, database)
        version, server_caps, nonce, plugin = mysql_parse_handshake(what, payload)
        extra['server_version'] = version
        needed = CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION
        if server_caps & needed != needed:
            raise LoginFailure('handshake', 'unsupported', '%s (%s) lacks the 4.1 protocol this probe speaks' % (what, version))
        if plugin not in MYSQL_SCRAMBLES:
            plugin = 'mysql_native_password'
        caps = (CLIENT_LONG_PASSWORD | CLIENT_LONG_FLAG | CLIENT_CONNECT_WITH_DB | CLIENT_PROTOCOL_41 | CLIENT_TRANSACTIONS
                | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH) & (server_caps | CLIENT_PROTOCOL_41)
        auth = MYSQL_SCRAMBLES[plugin](password, nonce[:20])
        extra['auth_method'] = plugin
        response = (struct.pack('<IIB', caps, 16 * 1024 * 1024, 45) + b'\0' * 23 + user.encode('utf-8') + b'\0'
                    + struct.pack('<B', len(auth)) + auth + database.encode('utf-8') + b'\0')
        if caps & CLIENT_PLUGIN_AUTH:
            response += plugin.encode('ascii') + b'\0'
        wire.step = 'auth'
        wire.send(mysql_packet(sequence + 1, response))
        while True:
            sequence, payload = mysql_read(wire)
            head = payload[:1]
            if head == b'\x00':
                break
            if head == b'\xff':
                raise mysql_error(what, 'auth', payload, user, database)
            if head == b'\xfe':
                if len(payload) == 1:
                    raise LoginFailure('auth', 'unsupported', '%s asks for the pre-4.1 password hash of user %s, which this probe '
                                       'does not send' % (what, user))
                name, dummy, data = payload[1:].partition(b'\0')
                plugin = name.decode('ascii', 'replace')
                if plugin not in MYSQL_SCRAMBLES:
                    raise LoginFailure('auth', 'unsupported', '%s asks user %s for the %s authentication plugin, which this probe '
                                       'does not speak (it speaks mysql_native_password)' % (what, user, plugin))
                extra['auth_method'] = plugin
                wire.send(mysql_packet(sequence + 1, MYSQL_SCRAMBLES[plugin](password, data.rstrip(b'\0')[:20])))
                continue
            if head == b'\x01' and extra['auth_method'] == 'caching_sha2_password':
                if payload[1:2] == b'\x03':
                    continue  # fast authentication succeeded; the OK packet follows
                raise LoginFailure('auth', 'unsupported', '%s needs a full caching_sha2_password authentication of user %s (over '
                                   'TLS or with its RSA key), which this probe does not do; its password cannot be checked here'
                                   % (what, user))
            raise LoginFailure('auth', 'protocol', '%s sent an unexpected packet 0x%s during authentication'
                               % (what, bytearray(head)[0] if head else 'empty'))
        wire.send(mysql_packet(0, b'\x01'))
    except LoginFailure as failure:
        return failure_result('mysql', target, failure, **extra)
    finally:
        wire.close()
    return result('mysql', target, True, 'ready', '%s (%s): user %s logged in to database %s (%s)'
                  % (what, extra['server_version'], user, database, extra['auth_method']), **extra)


# -- Ceph ----------------------------------------------------------------------------------------------------

CEPH_KEY_PATTERNS = (
    re.compile(r'permission denied', re.I),
    re.compile(r'handle_auth_bad_method', re.I),
    re.compile(r'failed to decode', re.I),
    re.compile(r'(unable to|could not) (find|decode|parse) .*key', re.I),
    re.compile(r'auth.*(bad|invalid)', re.I),
    re.compile(r'errno 1\b.*RADOS', re.I),
)
CEPH_COMMAND_DENIED = re.compile(r'^Error EACCES', re.M)
CEPH_TIMEOUT = re.compile(r'timed out|errno 110|ETIMEDOUT', re.I)


def ceph_login(executable, monitors, name, key, command=('mon', 'stat'), timeout=10.0):
    """Runs the real ceph CLI as client.<name>. The key travels in CEPH_ARGS, which the ceph CLI appends to its
    own arguments: it is in neither the command line (ps) nor a file.

    What the CLI (Ceph 16) answers: a wrong key or unknown id -> exit 13 "[errno 13] RADOS permission denied (error
    connecting to the cluster)"; a key that is not base64 -> "auth: failed to decode key" and exit 1; no monitor
    answering -> "timed out", exit 1; a command outside the caps after a successful login -> "Error EACCES: access
    denied", exit 13."""
    target = ','.join(monitors)
    what = 'Ceph (monitors %s) as client.%s' % (target, name)
    seconds = max(1, int(round(timeout)))
    # No ceph.conf and no keyring of the host: the monitors and the key are the inputs, nothing else. (Without -c the
    # CLI refuses to start on a host with no /etc/ceph/ceph.conf yet; a keyring file would be read besides the key.)
    argv = [executable, '-c', '/dev/null', '--keyring', '/dev/null', '--connect-timeout', str(seconds), '-m', target,
            '--id', name] + list(command)
    env = dict(os.environ)
    env['CEPH_ARGS'] = '--key=%s' % key
    env['LC_ALL'] = 'C'
    extra = dict(client='client.%s' % name, command=' '.join(command))
    try:
        proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=seconds + 20, check=False)
    except subprocess.TimeoutExpired:
        return result('ceph', target, False, 'connect', '%s: `ceph %s` gave no answer within %d s' % (what, extra['command'], seconds + 20),
                      cause='timeout', **extra)
    except OSError as exc:
        return result('ceph', target, False, 'connect', '%s: cannot run %s: %s' % (what, executable, exc), cause='error', **extra)
    out = proc.stdout.decode('utf-8', 'replace').strip()
    err = proc.stderr.decode('utf-8', 'replace').strip()
    err_lines = [line for line in err.splitlines() if line.strip() and 'did not load config file' not in line]
    summary = ' | '.join(err_lines[-3:])[:600] or out[:300]
    if key:
        summary = summary.replace(key, '********')  # ceph prints a key it cannot decode
    if proc.returncode == 0:
        return result('ceph', target, True, 'command', '%s: the monitors accepted the key (`ceph %s`: %s)'
                      % (what, extra['command'], out.splitlines()[0][:200] if out else 'ok'), code='0', **extra)
    code = str(proc.returncode)
    if CEPH_COMMAND_DENIED.search(err) and 'error connecting' not in err:
        # Authenticated: the monitors know the key; only this read command is outside the client's caps.
        return result('ceph', target, True, 'command', '%s: the monitors accepted the key (`ceph %s` itself is outside the '
                      "client's caps: %s)" % (what, extra['command'], summary), code=code, **extra)
    if CEPH_TIMEOUT.search(err) or proc.returncode == 110:
        return result('ceph', target, False, 'connect', '%s: no answer from the monitors within %d s: %s' % (what, seconds, summary),
                      cause='timeout', code=code, **extra)
    if proc.returncode in (1, 13) and any(p.search(err) for p in CEPH_KEY_PATTERNS):
        return result('ceph', target, False, 'auth', '%s: the monitors refused the key: %s' % (what, summary),
                      cause='key', code=code, **extra)
    return result('ceph', target, False, 'command', '%s: `ceph %s` failed (exit %s): %s' % (what, extra['command'], code, summary),
                  cause='error', code=code, **extra)
