# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tiny in-process servers on 127.0.0.1 that speak just enough Redis, PostgreSQL and MySQL for the login probes.

Each one checks the credential the way the real server does (SCRAM proof, MD5 hash, native scramble), so a probe
that computes it wrongly fails here too. They serve one connection per thread until stopped.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import base64
import hashlib
import hmac
import os
import socket
import struct
import threading


class FakeServer(object):
    """Accepts connections on a free loopback port and hands each to handle(conn) in a thread."""

    def __init__(self):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(('127.0.0.1', 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.seen = []          # what the server received, for assertions
        self.thread = threading.Thread(target=self._serve)
        self.thread.daemon = True

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.listener.close()

    def _serve(self):
        while True:
            try:
                conn, dummy = self.listener.accept()
            except OSError:
                return
            worker = threading.Thread(target=self._handle, args=(conn,))
            worker.daemon = True
            worker.start()

    def _handle(self, conn):
        conn.settimeout(10)
        try:
            self.handle(conn)
        except (OSError, EOFError, ValueError):
            pass
        finally:
            conn.close()

    def handle(self, conn):
        raise NotImplementedError


def recv_exact(conn, size):
    data = b''
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def recv_line(conn):
    data = b''
    while not data.endswith(b'\r\n'):
        chunk = conn.recv(1)
        if not chunk:
            raise EOFError
        data += chunk
    return data[:-2]


# -- Redis -------------------------------------------------------------------------------------------------

class FakeRedis(FakeServer):
    """requirepass and ACL users like Redis 7 answer them; `databases` like the config option (default 16)."""

    def __init__(self, password=None, users=None, databases=16, version=7):
        super(FakeRedis, self).__init__()
        self.password = password
        self.users = users or {}
        self.databases = databases
        self.version = version

    def read_command(self, conn):
        count = int(recv_line(conn)[1:])
        args = []
        for dummy in range(count):
            size = int(recv_line(conn)[1:])
            args.append(recv_exact(conn, size + 2)[:-2].decode('utf-8'))
        return args

    def handle(self, conn):
        authenticated = self.password is None
        while True:
            args = self.read_command(conn)
            self.seen.append(args[0].upper())
            name = args[0].upper()
            if name == 'AUTH':
                if len(args) == 3:
                    ok = self.users.get(args[1]) == args[2]
                elif self.password is None:
                    conn.sendall(b'-ERR AUTH <password> called without any password configured for the default user. '
                                 b'Are you sure your configuration is correct?\r\n' if self.version >= 6
                                 else b'-ERR Client sent AUTH, but no password is set\r\n')
                    continue
                else:
                    ok = args[1] == self.password
                if ok:
                    authenticated = True
                    conn.sendall(b'+OK\r\n')
                else:
                    conn.sendall(b'-WRONGPASS invalid username-password pair or user is disabled.\r\n' if self.version >= 6
                                 else b'-ERR invalid password\r\n')
            elif not authenticated:
                conn.sendall(b'-NOAUTH Authentication required.\r\n')
            elif name == 'SELECT':
                conn.sendall(b'+OK\r\n' if int(args[1]) < self.databases else b'-ERR DB index is out of range\r\n')
            elif name == 'PING':
                conn.sendall(b'+PONG\r\n')
            elif name == 'QUIT':
                conn.sendall(b'+OK\r\n')
                return
            else:
                conn.sendall(b'-ERR unknown command\r\n')


# -- PostgreSQL --------------------------------------------------------------------------------------------

def pg_send(conn, kind, payload):
    conn.sendall(kind + struct.pack('!i', len(payload) + 4) + payload)


def pg_error(conn, code, message):
    fields = b'SFATAL\0VFATAL\0C' + code.encode() + b'\0M' + message.encode() + b'\0\0'
    pg_send(conn, b'E', fields)


def pg_recv(conn):
    kind = recv_exact(conn, 1)
    size = struct.unpack('!i', recv_exact(conn, 4))[0]
    return kind, recv_exact(conn, size - 4)


class FakePostgres(FakeServer):
    """method: trust, password, md5, scram-sha-256, gss (unsupported by the probe), reject (no pg_hba entry)."""

    def __init__(self, method='scram-sha-256', users=None, databases=('registry',), iterations=4096, tamper_server_signature=False):
        super(FakePostgres, self).__init__()
        self.method = method
        self.users = users or {}
        self.databases = databases
        self.iterations = iterations
        self.tamper = tamper_server_signature

    def handle(self, conn):
        size = struct.unpack('!i', recv_exact(conn, 4))[0]
        body = recv_exact(conn, size - 4)
        code = struct.unpack('!i', body[:4])[0]
        if code == 80877103:            # SSLRequest: this fake has no TLS
            self.seen.append('SSLRequest')
            conn.sendall(b'N')
            size = struct.unpack('!i', recv_exact(conn, 4))[0]
            body = recv_exact(conn, size - 4)
        items = body[4:].split(b'\0')
        params = dict((k.decode(), v.decode()) for k, v in zip(items[0::2], items[1::2]) if k)
        self.seen.append(params)
        user, database = params.get('user'), params.get('database')
        if self.method == 'reject':
            pg_error(conn, '28000', 'no pg_hba.conf entry for host "127.0.0.1", user "%s", database "%s", no encryption' % (user, database))
            return
        if not self.authenticate(conn, user):
            pg_error(conn, '28P01', 'password authentication failed for user "%s"' % user)
            return
        pg_send(conn, b'R', struct.pack('!i', 0))
        if database not in self.databases:
            pg_error(conn, '3D000', 'database "%s" does not exist' % database)
            return
        pg_send(conn, b'S', b'server_version\x0015.99 (fake)\0')
        pg_send(conn, b'K', struct.pack('!ii', 1, 2))
        pg_send(conn, b'Z', b'I')
        kind, dummy = pg_recv(conn)
        self.seen.append(kind)

    def authenticate(self, conn, user):
        password = self.users.get(user)
        if self.method == 'trust':
            return user in self.users
        if self.method == 'gss':
            pg_send(conn, b'R', struct.pack('!i', 7))
            recv_exact(conn, 1)
            return False
        if self.method == 'password':
            pg_send(conn, b'R', struct.pack('!i', 3))
            dummy, body = pg_recv(conn)
            return password is not None and body == password.encode() + b'\0'
        if self.method == 'md5':
            salt = os.urandom(4)
            pg_send(conn, b'R', struct.pack('!i', 5) + salt)
            dummy, body = pg_recv(conn)
            if password is None:
                return False
            inner = hashlib.md5(password.encode() + user.encode()).hexdigest().encode()
            return body == b'md5' + hashlib.md5(inner + salt).hexdigest().encode() + b'\0'
        return self.scram(conn, password)

    def scram(self, conn, password):
        pg_send(conn, b'R', struct.pack('!i', 10) + b'SCRAM-SHA-256\0\0')
        dummy, body = pg_recv(conn)
        mechanism, dummy, rest = body.partition(b'\0')
        assert mechanism == b'SCRAM-SHA-256'
        client_first = rest[4:4 + struct.unpack('!i', rest[:4])[0]].decode()
        assert client_first.startswith('n,,')
        bare = client_first[3:]
        client_nonce = dict(i.split('=', 1) for i in bare.split(','))['r']
        salt = os.urandom(16)
        nonce = client_nonce + base64.b64encode(os.urandom(18)).decode()
        server_first = 'r=%s,s=%s,i=%d' % (nonce, base64.b64encode(salt).decode(), self.iterations)
        pg_send(conn, b'R', struct.pack('!i', 11) + server_first.encode())
        dummy, body = pg_recv(conn)
        final = body.decode()
        without_proof, dummy, proof = final.rpartition(',p=')
        assert without_proof == 'c=biws,r=%s' % nonce
        # What PostgreSQL stores for the role: StoredKey and ServerKey from the real password.
        salted = hashlib.pbkdf2_hmac('sha256', (password or os.urandom(8).hex()).encode(), salt, self.iterations)
        stored_key = hashlib.sha256(hmac.new(salted, b'Client Key', hashlib.sha256).digest()).digest()
        server_key = hmac.new(salted, b'Server Key', hashlib.sha256).digest()
        auth_message = ('%s,%s,%s' % (bare, server_first, without_proof)).encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        client_key = bytes(a ^ b for a, b in zip(base64.b64decode(proof), signature))
        if password is None or hashlib.sha256(client_key).digest() != stored_key:
            return False
        server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        if self.tamper:
            server_signature = os.urandom(32)
        pg_send(conn, b'R', struct.pack('!i', 12) + b'v=' + base64.b64encode(server_signature))
        return True


# -- MySQL / MariaDB ---------------------------------------------------------------------------------------

def my_send(conn, seq, payload):
    size = len(payload)
    conn.sendall(struct.pack('<BBBB', size & 0xff, (size >> 8) & 0xff, size >> 16, seq & 0xff) + payload)


def my_recv(conn):
    header = recv_exact(conn, 4)
    size = header[0] | header[1] << 8 | header[2] << 16
    return header[3], recv_exact(conn, size)


def my_error(conn, seq, errno, state, message):
    my_send(conn, seq, b'\xff' + struct.pack('<H', errno) + b'#' + state.encode() + message.encode())


def native_ok(password, nonce, answer):
    """The server's check: answer XOR SHA1(nonce + SHA1(SHA1(pw))) must hash to SHA1(SHA1(pw))."""
    stored = hashlib.sha1(hashlib.sha1(password.encode()).digest()).digest()
    if not password:
        return answer == b''
    candidate = bytes(a ^ b for a, b in zip(answer, hashlib.sha1(nonce + stored).digest()))
    return len(answer) == 20 and hashlib.sha1(candidate).digest() == stored


def sha2_ok(password, nonce, answer):
    first = hashlib.sha256(password.encode()).digest()
    mix = hashlib.sha256(hashlib.sha256(first).digest() + nonce).digest()
    return answer == bytes(a ^ b for a, b in zip(first, mix))


class FakeMySQL(FakeServer):
    """users: {name: (password, plugin)}; announce: the plugin the handshake names (the server's default).

    plugin mysql_native_password or caching_sha2_password (cached=True: fast path, else full authentication
    asked for), client_ed25519 (not spoken by the probe). host_blocked: refuse at connect with 1130."""

    def __init__(self, users=None, databases=('registry',), announce='mysql_native_password', cached=True, host_blocked=False):
        super(FakeMySQL, self).__init__()
        self.users = users or {}
        self.databases = databases
        self.announce = announce
        self.cached = cached
        self.host_blocked = host_blocked

    def handle(self, conn):
        if self.host_blocked:
            my_send(conn, 0, b'\xff' + struct.pack('<H', 1130) + b"Host '127.0.0.1' is not allowed to connect to this MariaDB server")
            return
        nonce = os.urandom(20).replace(b'\0', b'x')
        caps = 0x1 | 0x4 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000
        handshake = (b'\x0a' + b'10.11.99-MariaDB-fake\0' + struct.pack('<I', 7) + nonce[:8] + b'\0'
                     + struct.pack('<H', caps & 0xffff) + b'\x21' + struct.pack('<H', 2) + struct.pack('<H', caps >> 16)
                     + struct.pack('<B', 21) + b'\0' * 10 + nonce[8:] + b'\0' + self.announce.encode() + b'\0')
        my_send(conn, 0, handshake)
        seq, body = my_recv(conn)
        client_caps = struct.unpack('<I', body[:4])[0]
        pos = 32
        end = body.index(b'\0', pos)
        user = body[pos:end].decode()
        pos = end + 1
        length = body[pos]
        answer = body[pos + 1:pos + 1 + length]
        pos += 1 + length
        database = None
        if client_caps & 0x8:
            end = body.index(b'\0', pos)
            database = body[pos:end].decode()
            pos = end + 1
        client_plugin = body[pos:].split(b'\0')[0].decode() if client_caps & 0x80000 else 'mysql_native_password'
        self.seen.append({'user': user, 'database': database, 'plugin': client_plugin})
        password, plugin = self.users.get(user, (None, 'mysql_native_password'))
        seq += 1
        if client_plugin != plugin:
            nonce = os.urandom(20).replace(b'\0', b'y')
            my_send(conn, seq, b'\xfe' + plugin.encode() + b'\0' + nonce + b'\0')
            self.seen.append('switch:' + plugin)
            if plugin == 'client_ed25519':
                return
            seq, answer = my_recv(conn)
            seq += 1
        if password is None:
            ok = False
        elif plugin == 'caching_sha2_password':
            ok = sha2_ok(password, nonce, answer)
            if ok and not self.cached:
                my_send(conn, seq, b'\x01\x04')     # perform full authentication
                return
            if ok:
                my_send(conn, seq, b'\x01\x03')     # fast auth success
                seq += 1
        else:
            ok = native_ok(password, nonce, answer)
        if not ok:
            my_error(conn, seq, 1045, '28000', "Access denied for user '%s'@'127.0.0.1' (using password: %s)"
                     % (user, 'YES' if answer else 'NO'))
            return
        if database and database not in self.databases:
            my_error(conn, seq, 1049, '42000', "Unknown database '%s'" % database)
            return
        my_send(conn, seq, b'\x00\x00\x00\x02\x00\x00\x00')
        seq, body = my_recv(conn)
        self.seen.append('quit' if body == b'\x01' else body)


# -- a silent server: accepts and never answers --------------------------------------------------------------

class Silent(FakeServer):
    def handle(self, conn):
        try:
            while conn.recv(1024):
                pass
        except socket.timeout:
            pass
