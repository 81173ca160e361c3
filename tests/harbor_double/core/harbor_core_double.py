# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Harbor core DOUBLE: a small stand-in for Harbor's core (2.x) / ui (1.x) service.

This is test code for the lab, not Harbor. It exists because the real Harbor images cannot be
downloaded on the build machines. It speaks the parts of Harbor's protocol that the collection's
roles and the login_matrix module touch, and it is faithful where HA depends on it:

* ``GET /service/token`` issues RS256 JWTs signed with the mounted ``private_key.pem``, with the
  libtrust ``kid`` header and Harbor's claims (iss ``harbor-token-issuer``, aud = service, access list).
  A registry that trusts another key refuses these tokens, exactly like a real node with a different key.
* Health: ``/api/v2.0/ping`` ("Pong"), ``/api/v2.0/health`` (always HTTP 200, parse ``status``),
  ``/api/v2.0/systeminfo``; 1.x: ``/api/ping``, ``/api/systeminfo``.
* Users: ``/api/v2.0/users/current`` (1.x ``/api/users/current``) with basic auth or a UI session cookie.
* UI login ``POST /c/login`` (1.x ``POST /login``): the session lives in the EXTERNAL Redis, so a session
  made on node 1 is accepted on node 2. Session-authenticated writes need the ``X-Harbor-CSRF-Token``
  derived from ``CSRF_KEY`` (2.x), so nodes with different CSRF keys reject each other's forms.
* At start it connects to the external database (PostgreSQL for 2.x, MySQL/MariaDB for 1.x) and Redis
  with the configured credentials and refuses to start when it cannot. 1.x refuses a schema whose
  ``alembic_version`` is not the one it expects, like Harbor 1.5.

``HARBOR_DOUBLE_STANDALONE=1`` runs without database and Redis (users and sessions in memory): the
module tests use it to stand up several token services quickly.

Settings come from where the real service reads them (see tests/harbor_double/LAYOUT.md):

* 2.x core: the env_file ``common/config/core/env`` (POSTGRESQL_*, _REDIS_URL_CORE, CORE_SECRET,
  JOBSERVICE_SECRET, CSRF_KEY, HARBOR_ADMIN_PASSWORD, EXT_ENDPOINT, REGISTRY_URL, PORT), key files
  ``/etc/core/private_key.pem`` and ``/etc/core/key`` (secretkey), ``/etc/core/app.conf`` (httpport).
* 1.x ui: the env_file ``common/config/ui/env`` (UI_SECRET, _REDIS_URL, ADMINSERVER_URL); everything else
  (mysql_*, admin_initial_password, ext_endpoint, token_expiration, registry_url) from the adminserver's
  ``GET /api/configurations`` with ``Authorization: Harbor-Secret <UI_SECRET>``, like Harbor 1.5;
  ``/etc/ui/private_key.pem``, ``/etc/ui/key``, ``/etc/ui/app.conf``. Users live in the 1.5 ``user`` table.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

VERSION = {'v2': 'v2.15.0-double', 'v1': 'v1.5.4-double'}
if os.environ.get('HARBOR_DOUBLE_VERSION'):
    VERSION = {g: os.environ['HARBOR_DOUBLE_VERSION'] + '-double' for g in VERSION}
# adminserver configuration key -> env key the double uses internally (Harbor 1.5 names on the left)
ADMINSERVER_KEYS = {'mysql_host': 'MYSQL_HOST', 'mysql_port': 'MYSQL_PORT', 'mysql_username': 'MYSQL_USR',
                    'mysql_password': 'MYSQL_PWD', 'mysql_database': 'MYSQL_DATABASE',
                    'admin_initial_password': 'HARBOR_ADMIN_PASSWORD', 'ext_endpoint': 'EXT_ENDPOINT',
                    'token_expiration': 'TOKEN_EXPIRATION', 'registry_url': 'REGISTRY_URL'}
EXPECTED_V1_SCHEMA = '1.5.0'
ISSUER = 'harbor-token-issuer'
SESSION_TTL = 1800


def log(msg):
    sys.stdout.write('%s harbor-core-double: %s\n' % (datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'), msg))
    sys.stdout.flush()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def libtrust_key_id(public_key):
    """Key ID as docker/libtrust computes it: base32(sha256(SPKI DER)[:30]) in 12 groups of 4."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode('ascii').rstrip('=')
    return ':'.join(b32[i:i + 4] for i in range(0, 48, 4))


def hash_password(password, salt, algorithm='sha256'):
    # Harbor stores pbkdf2 hashes (4096 rounds, 16 bytes, hex) with a per-user salt: sha1 in 1.x, sha256 in 2.x.
    return hashlib.pbkdf2_hmac(algorithm, password.encode('utf-8'), salt.encode('utf-8'), 4096, 16).hex()


def parse_scope(scope):
    """'repository:library/app:push,pull' -> {'type':..., 'name':..., 'actions': [...]}."""
    parts = scope.split(':')
    if len(parts) < 3:
        return None
    return {'type': parts[0], 'name': ':'.join(parts[1:-1]), 'actions': [a for a in parts[-1].split(',') if a]}


class TokenSigner(object):
    def __init__(self, key_path, expiration_minutes):
        with open(key_path, 'rb') as handle:
            pem = handle.read()
        if b'BEGIN RSA PRIVATE KEY' not in pem:
            # Harbor 2.x fails token signing with a PKCS#8 key; the double refuses it at start.
            raise ValueError('%s is not a PKCS#1 RSA private key ("BEGIN RSA PRIVATE KEY")' % key_path)
        self.key = serialization.load_pem_private_key(pem, password=None)
        self.kid = libtrust_key_id(self.key.public_key())
        self.expiration = int(expiration_minutes) * 60

    def issue(self, subject, service, access):
        now = int(time.time())
        header = {'typ': 'JWT', 'alg': 'RS256', 'kid': self.kid}
        claims = {
            'iss': ISSUER, 'sub': subject, 'aud': service, 'exp': now + self.expiration,
            'nbf': now - 1, 'iat': now, 'jti': secrets.token_hex(16), 'access': access,
        }
        signing_input = b64url(json.dumps(header, separators=(',', ':')).encode()) + '.' + \
            b64url(json.dumps(claims, separators=(',', ':')).encode())
        signature = self.key.sign(signing_input.encode('ascii'), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + '.' + b64url(signature), now


class MemoryStore(object):
    """Users and sessions for standalone mode."""

    def __init__(self, admin_password):
        self.salt = secrets.token_hex(8)
        self.users = {'admin': hash_password(admin_password, self.salt)}
        self.sessions = {}
        self.lock = threading.Lock()

    def check_user(self, username, password):
        return username in self.users and hmac.compare_digest(self.users[username], hash_password(password, self.salt))

    def session_put(self, sid, username):
        with self.lock:
            self.sessions[sid] = username

    def session_get(self, sid):
        with self.lock:
            return self.sessions.get(sid)

    def session_delete(self, sid):
        with self.lock:
            self.sessions.pop(sid, None)

    def health(self):
        return {'database': 'healthy', 'redis': 'healthy'}


class ExternalStore(object):
    """Users in the external database, sessions in the external Redis (like Harbor)."""

    def __init__(self, generation, env):
        self.generation = generation
        self.env = env
        self.lock = threading.Lock()
        self.redis = self._connect_redis()
        self.db = self._connect_db()
        self._init_users()

    # -- Redis -----------------------------------------------------------------------------
    def _redis_settings(self):
        if self.generation == 'v2':
            url = self.env.get('_REDIS_URL_CORE', '')
            if not url:
                raise RuntimeError('_REDIS_URL_CORE is not set in the core env')
            parsed = urllib.parse.urlparse(url)
            db = int((parsed.path or '/0').lstrip('/') or 0)
            password = urllib.parse.unquote(parsed.password) if parsed.password else None
            return parsed.hostname, parsed.port or 6379, password, db, urllib.parse.unquote(parsed.username or '') or None
        url = self.env.get('_REDIS_URL', '')
        if not url:
            raise RuntimeError('_REDIS_URL is not set in the ui env')
        fields = url.split(',')
        host, _sep, port = fields[0].partition(':')
        password = fields[2] if len(fields) > 2 and fields[2] else None
        db = int(fields[3]) if len(fields) > 3 and fields[3] else 0
        return host, int(port or 6379), password, db, None

    def _connect_redis(self):
        import redis  # pylint: disable=import-outside-toplevel
        host, port, password, db, username = self._redis_settings()
        client = redis.Redis(host=host, port=port, username=username, password=password, db=db, socket_timeout=5,
                             socket_connect_timeout=5)
        client.ping()
        log('connected to the external Redis at %s:%s db %s' % (host, port, db))
        return client

    # -- database ----------------------------------------------------------------------------
    def _connect_db(self):
        env = self.env
        if self.generation == 'v2':
            import psycopg2  # pylint: disable=import-outside-toplevel
            settings = dict(host=env.get('POSTGRESQL_HOST'), port=int(env.get('POSTGRESQL_PORT', '5432')),
                            user=env.get('POSTGRESQL_USERNAME'), password=env.get('POSTGRESQL_PASSWORD'),
                            dbname=env.get('POSTGRESQL_DATABASE', 'registry'), sslmode=env.get('POSTGRESQL_SSLMODE', 'disable'),
                            connect_timeout=5)
            conn = psycopg2.connect(**settings)
            conn.autocommit = True
            log('connected to the external PostgreSQL at %s:%s database %s as %s'
                % (settings['host'], settings['port'], settings['dbname'], settings['user']))
            return conn
        import pymysql  # pylint: disable=import-outside-toplevel
        settings = dict(host=env.get('MYSQL_HOST'), port=int(env.get('MYSQL_PORT', '3306')), user=env.get('MYSQL_USR'),
                        password=env.get('MYSQL_PWD'), database=env.get('MYSQL_DATABASE', 'registry'), connect_timeout=5,
                        autocommit=True)
        conn = pymysql.connect(**settings)
        log('connected to the external MySQL at %s:%s database %s as %s'
            % (settings['host'], settings['port'], settings['database'], settings['user']))
        return conn

    def _query(self, sql, args=(), fetch=True):
        with self.lock:
            if self.generation == 'v1':
                self.db.ping(reconnect=True)
            cur = self.db.cursor()
            try:
                cur.execute(sql, args)
                return cur.fetchall() if fetch else None
            finally:
                cur.close()

    def _init_users(self):
        admin_password = self.env.get('HARBOR_ADMIN_PASSWORD', '')
        if self.generation == 'v2':
            # Harbor 2.x core creates and migrates its schema itself; the double keeps a tiny version of it.
            self._query('CREATE TABLE IF NOT EXISTS schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL)', fetch=False)
            self._query('INSERT INTO schema_migrations (version, dirty) VALUES (150, false) ON CONFLICT DO NOTHING', fetch=False)
            self._query('CREATE TABLE IF NOT EXISTS harbor_user (user_id serial PRIMARY KEY, username varchar(255) UNIQUE, '
                        'password varchar(40) NOT NULL, salt varchar(40), sysadmin_flag boolean DEFAULT false)', fetch=False)
            rows = self._query('SELECT password FROM harbor_user WHERE username = %s', ('admin',))
            if not rows:
                salt = secrets.token_hex(8)
                self._query('INSERT INTO harbor_user (username, password, salt, sysadmin_flag) VALUES (%s, %s, %s, true) '
                            'ON CONFLICT (username) DO NOTHING', ('admin', hash_password(admin_password, salt), salt), fetch=False)
                log('initialised the admin user from HARBOR_ADMIN_PASSWORD (first start on this database)')
            return
        # Harbor 1.5 does not create its schema: registry.sql must have been loaded, at the right version.
        try:
            rows = self._query('SELECT version_num FROM alembic_version')
        except Exception as exc:  # pylint: disable=broad-except
            raise RuntimeError('the database has no alembic_version table: load registry.sql first (%s)' % exc)
        found = rows[0][0] if rows else None
        if found != EXPECTED_V1_SCHEMA:
            raise RuntimeError('schema version mismatch: alembic_version is %r, this Harbor needs %r' % (found, EXPECTED_V1_SCHEMA))
        rows = self._query('SELECT password, salt FROM `user` WHERE username = %s', ('admin',))
        if not rows:
            raise RuntimeError('the user table has no admin row: registry.sql was not loaded completely')
        if not rows[0][0]:
            salt = secrets.token_hex(16)
            self._query('UPDATE `user` SET password = %s, salt = %s WHERE username = %s',
                        (hash_password(admin_password, salt, 'sha1'), salt, 'admin'), fetch=False)
            log('initialised the admin password from HARBOR_ADMIN_PASSWORD (first start on this database)')

    def check_user(self, username, password):
        if self.generation == 'v1':
            rows = self._query('SELECT password, salt FROM `user` WHERE username = %s AND deleted = 0', (username,))
            return bool(rows) and bool(rows[0][0]) and hmac.compare_digest(rows[0][0], hash_password(password, rows[0][1] or '', 'sha1'))
        rows = self._query('SELECT password, salt FROM harbor_user WHERE username = %s', (username,))
        return bool(rows) and hmac.compare_digest(rows[0][0], hash_password(password, rows[0][1] or ''))

    def session_put(self, sid, username):
        self.redis.setex(sid, SESSION_TTL, json.dumps({'username': username}))

    def session_get(self, sid):
        raw = self.redis.get(sid)
        return json.loads(raw)['username'] if raw else None

    def session_delete(self, sid):
        self.redis.delete(sid)

    def health(self):
        result = {}
        try:
            self._query('SELECT 1')
            result['database'] = 'healthy'
        except Exception as exc:  # pylint: disable=broad-except
            result['database'] = 'unhealthy: %s' % exc
        try:
            self.redis.ping()
            result['redis'] = 'healthy'
        except Exception as exc:  # pylint: disable=broad-except
            result['redis'] = 'unhealthy: %s' % exc
        return result


class Core(object):
    def __init__(self, generation, env, store, signer):
        self.generation = generation
        self.env = env
        self.store = store
        self.signer = signer
        self.csrf_key = env.get('CSRF_KEY', '')
        self.registry_url = env.get('REGISTRY_URL', '')
        self.cookie = 'sid' if generation == 'v2' else 'beegosessionID'

    def csrf_token(self, sid):
        return hmac.new(self.csrf_key.encode('utf-8'), sid.encode('utf-8'), hashlib.sha256).hexdigest()[:32]

    def registry_health(self):
        if not self.registry_url:
            return 'healthy'
        try:
            urllib.request.urlopen(self.registry_url.rstrip('/') + '/v2/', timeout=3)  # nosec - lab-internal URL
            return 'healthy'
        except urllib.error.HTTPError as exc:
            return 'healthy' if exc.code in (200, 401) else 'unhealthy: HTTP %s' % exc.code
        except Exception as exc:  # pylint: disable=broad-except
            return 'unhealthy: %s' % exc


class Handler(BaseHTTPRequestHandler):
    server_version = 'harbor-core-double'
    protocol_version = 'HTTP/1.1'
    core = None  # set by main()

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log('%s %s' % (self.address_string(), format % args))

    # -- helpers ------------------------------------------------------------------------------
    def _send(self, status, body, content_type='application/json', headers=None):
        if not isinstance(body, bytes):
            body = (json.dumps(body) if content_type == 'application/json' else body).encode('utf-8')
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status, code, message):
        self._send(status, {'errors': [{'code': code, 'message': message}]})

    def _basic_user(self):
        """Returns (username, ok) from basic auth; (None, None) when no basic auth was sent."""
        auth = self.headers.get('Authorization', '')
        if not auth.lower().startswith('basic '):
            return None, None
        try:
            username, _sep, password = base64.b64decode(auth[6:].strip()).decode('utf-8').partition(':')
        except Exception:  # pylint: disable=broad-except
            return None, False
        return username, self.core.store.check_user(username, password)

    def _session(self):
        cookies = {}
        for part in self.headers.get('Cookie', '').split(';'):
            name, _sep, value = part.strip().partition('=')
            if name:
                cookies[name] = value
        sid = cookies.get(self.core.cookie)
        if not sid:
            return None, None
        return sid, self.core.store.session_get(sid)

    def _current_user(self):
        username, ok = self._basic_user()
        if ok is not None:
            return username if ok else None
        _sid, username = self._session()
        return username

    def _read_form(self):
        length = int(self.headers.get('Content-Length', '0') or 0)
        data = self.rfile.read(length).decode('utf-8') if length else ''
        return {k: v[0] for k, v in urllib.parse.parse_qs(data).items()}

    def _api(self, path):
        prefix = '/api/v2.0' if self.core.generation == 'v2' else '/api'
        return path[len(prefix):] if path.startswith(prefix + '/') else None

    # -- routes -------------------------------------------------------------------------------
    def do_GET(self):  # pylint: disable=invalid-name
        url = urllib.parse.urlparse(self.path)
        if url.path == '/service/token':
            return self.token(urllib.parse.parse_qs(url.query))
        api = self._api(url.path)
        if api == '/ping':
            return self._send(200, 'Pong', 'text/plain; charset=utf-8')
        if api == '/health' and self.core.generation == 'v2':
            return self.health()
        if api == '/systeminfo':
            return self.systeminfo()
        if api == '/users/current':
            username = self._current_user()
            if not username:
                return self._error(401, 'UNAUTHORIZED', 'unauthorized')
            headers = {}
            sid, _user = self._session()
            if sid and self.core.generation == 'v2':
                headers['X-Harbor-CSRF-Token'] = self.core.csrf_token(sid)
            return self._send(200, {'user_id': 1, 'username': username, 'sysadmin_flag': username == 'admin'}, headers=headers)
        return self._error(404, 'NOT_FOUND', 'no route for %s in the Harbor core double' % url.path)

    def do_POST(self):  # pylint: disable=invalid-name
        path = urllib.parse.urlparse(self.path).path
        if path == '/service/notifications':
            self.rfile.read(int(self.headers.get('Content-Length', '0') or 0))
            return self._send(200, {})
        login_path = '/c/login' if self.core.generation == 'v2' else '/login'
        logout_path = '/c/log_out' if self.core.generation == 'v2' else '/log_out'
        if path == login_path:
            form = self._read_form()
            if not self.core.store.check_user(form.get('principal', ''), form.get('password', '')):
                return self._error(401, 'UNAUTHORIZED', 'invalid credentials')
            sid = secrets.token_hex(16)
            self.core.store.session_put(sid, form['principal'])
            headers = {'Set-Cookie': '%s=%s; Path=/; HttpOnly' % (self.core.cookie, sid)}
            if self.core.generation == 'v2':
                headers['X-Harbor-CSRF-Token'] = self.core.csrf_token(sid)
            return self._send(200, '', 'text/plain', headers=headers)
        if path == logout_path:
            sid, username = self._session()
            if not username:
                return self._error(401, 'UNAUTHORIZED', 'no session')
            if self.core.generation == 'v2' and not hmac.compare_digest(
                    self.headers.get('X-Harbor-CSRF-Token', ''), self.core.csrf_token(sid)):
                return self._error(403, 'FORBIDDEN', 'CSRF token invalid')
            self.core.store.session_delete(sid)
            return self._send(200, '', 'text/plain')
        return self._error(404, 'NOT_FOUND', 'no route for %s in the Harbor core double' % path)

    def token(self, query):
        service = (query.get('service') or ['harbor-registry'])[0]
        username, ok = self._basic_user()
        if ok is False:
            return self._error(401, 'UNAUTHORIZED', 'authentication failed: invalid username or password')
        subject = username or ''
        access = []
        for scope in query.get('scope', []):
            for item in scope.split(' '):
                parsed = parse_scope(item)
                if not parsed:
                    continue
                if not username:
                    parsed['actions'] = []
                access.append(parsed)
        token, issued = self.core.signer.issue(subject, service, access)
        issued_at = datetime.datetime.fromtimestamp(issued, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
        return self._send(200, {'token': token, 'access_token': token, 'expires_in': self.core.signer.expiration,
                                'issued_at': issued_at})

    def health(self):
        components = dict(self.core.store.health())
        components['core'] = 'healthy'
        components['registry'] = self.core.registry_health()
        overall = 'healthy' if all(v == 'healthy' for v in components.values()) else 'unhealthy'
        items = []
        for name in sorted(components):
            status, _sep, error = components[name].partition(': ')
            item = {'name': name, 'status': status}
            if error:
                item['error'] = error
            items.append(item)
        return self._send(200, {'status': overall, 'components': items})

    def systeminfo(self):
        ext = self.core.env.get('EXT_ENDPOINT', '')
        return self._send(200, {
            'harbor_version': VERSION[self.core.generation], 'auth_mode': 'db_auth',
            'registry_url': urllib.parse.urlparse(ext).netloc if ext else '', 'external_url': ext,
            'self_registration': False, 'has_ca_root': False, 'double': True,
        })


def read_app_conf(path):
    """httpport from a beego app.conf (``/etc/core/app.conf`` / ``/etc/ui/app.conf``), or None."""
    try:
        with open(path) as handle:
            for line in handle:
                key, sep, value = line.partition('=')
                if sep and key.strip() == 'httpport':
                    return int(value.strip())
    except OSError:
        pass
    return None


def fetch_adminserver_config(env, timeout):
    """Harbor 1.x ui reads its configuration from the adminserver, authenticated with UI_SECRET."""
    url = env['ADMINSERVER_URL'].rstrip('/') + '/api/configurations'
    request = urllib.request.Request(url, headers={'Authorization': 'Harbor-Secret ' + env.get('UI_SECRET', '')})
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # nosec - lab-internal URL
                config = json.loads(response.read().decode('utf-8'))
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                raise RuntimeError('the adminserver refused UI_SECRET (401): ui and adminserver env differ')
            if time.time() > deadline:
                raise RuntimeError('adminserver %s: HTTP %s' % (url, exc.code))
        except Exception as exc:  # pylint: disable=broad-except
            if time.time() > deadline:
                raise RuntimeError('adminserver %s unreachable: %s' % (url, exc))
            log('waiting for the adminserver: %s' % exc)
        time.sleep(2)
    log('read %d configuration keys from the adminserver' % len(config))
    for key, name in ADMINSERVER_KEYS.items():
        if key in config and config[key] not in (None, ''):
            env[name] = str(config[key])


def check_secretkey(path):
    """Harbor core/ui needs the secretkey (AES key for secrets stored in the DB) at start."""
    with open(path) as handle:
        key = handle.read()
    if len(key) not in (16, 24, 32):
        raise ValueError('%s must hold a 16, 24 or 32 byte key, found %d bytes' % (path, len(key)))


def main(argv=None):
    parser = argparse.ArgumentParser(description='Harbor core DOUBLE for the registryops.harbor_ha lab')
    parser.add_argument('--generation', choices=['v1', 'v2'], default='v2')
    parser.add_argument('--listen', help='host:port (default: 0.0.0.0 and PORT, else app.conf httpport, else 8080)')
    parser.add_argument('--app-conf', help='beego app.conf to read httpport from (/etc/core/app.conf, /etc/ui/app.conf)')
    parser.add_argument('--private-key', help='token signing key (default: where Harbor mounts it)')
    parser.add_argument('--secret-key', help='secretkey file (default: /etc/core/key or /etc/ui/key; optional standalone)')
    parser.add_argument('--env-file', action='append', default=[], help='extra KEY=VALUE files (like compose env_file)')
    args = parser.parse_args(argv)

    env = {}
    for path in args.env_file:
        with open(path) as handle:
            for line in handle:
                key, sep, value = line.rstrip('\n').partition('=')
                if sep and not key.startswith('#'):
                    env[key.strip()] = value
    env.update(os.environ)
    etc = '/etc/core' if args.generation == 'v2' else '/etc/ui'
    key_path = args.private_key or env.get('HARBOR_DOUBLE_PRIVATE_KEY') or etc + '/private_key.pem'
    standalone = env.get('HARBOR_DOUBLE_STANDALONE') == '1'
    timeout = float(env.get('HARBOR_DOUBLE_CONNECT_TIMEOUT', '60'))
    listen = args.listen
    if not listen:
        port = env.get('PORT') if args.generation == 'v2' else None
        listen = '0.0.0.0:%s' % (port or (args.app_conf and read_app_conf(args.app_conf)) or 8080)
    try:
        if args.generation == 'v1' and env.get('ADMINSERVER_URL') and not standalone:
            fetch_adminserver_config(env, timeout)
        if not env.get('HARBOR_ADMIN_PASSWORD'):
            log('FATAL: HARBOR_ADMIN_PASSWORD is not set')
            return 2
        secret_key = args.secret_key or etc + '/key'
        if not standalone or os.path.exists(secret_key):
            check_secretkey(secret_key)
        signer = TokenSigner(key_path, env.get('TOKEN_EXPIRATION', '30'))
        if standalone:
            store = MemoryStore(env['HARBOR_ADMIN_PASSWORD'])
        else:
            deadline = time.time() + timeout
            while True:
                try:
                    store = ExternalStore(args.generation, env)
                    break
                except Exception as exc:  # pylint: disable=broad-except
                    if time.time() > deadline or isinstance(exc, RuntimeError):
                        raise
                    log('waiting for the external database and Redis: %s' % exc)
                    time.sleep(2)
    except Exception as exc:  # pylint: disable=broad-except
        log('FATAL: %s' % exc)
        return 1
    host, _sep, port = listen.rpartition(':')
    Handler.core = Core(args.generation, env, store, signer)
    server = ThreadingHTTPServer((host or '0.0.0.0', int(port)), Handler)
    log('%s listening on %s (token key id %s)' % (VERSION[args.generation], listen, signer.kid))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def _stop_on_sigterm(_signum, _frame):
    # PID 1 of a container gets no default action for SIGTERM: without a handler `docker stop` waits 10 s
    # and kills (Harbor's Go services exit on SIGTERM; so does the double).
    raise KeyboardInterrupt


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main())
