# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Harbor core DOUBLE: a small stand-in for Harbor's core (2.x) / ui (1.x) service.

This is test code for the lab, not Harbor. It exists because the real Harbor images cannot be
downloaded on the build machines. It speaks the parts of Harbor's protocol that the collection's
roles and the login_matrix module touch, and it is faithful where HA depends on it:

* ``GET /service/token`` issues RS256 JWTs signed with the mounted ``private_key.pem``, with the
  libtrust ``kid`` header and Harbor's claims (iss ``harbor-token-issuer``, aud = service, access list).
* 2.x ``/v2/`` (nginx sends it to core, like Harbor 2.x): core checks the request like Harbor's v2auth
  middleware (bearer token verified with the public half of ``private_key.pem``, RS256, aud
  ``harbor-registry``, 60 s leeway, the ``access`` claim covering repository + action; or basic auth of a
  Harbor user) and answers 401 with the Bearer challenge otherwise. An allowed request is proxied,
  streamed both ways, to the registry (``REGISTRY_URL``) with the Host header kept and HTTP basic auth
  ``REGISTRY_CREDENTIAL_USERNAME:REGISTRY_CREDENTIAL_PASSWORD``; the registry checks that against its
  htpasswd file (``/etc/registry/passwd``), so a node whose credential differs fails every push and pull.
  A node with another token key refuses the tokens of this one, exactly like real nodes with different keys.
* Health: ``/api/v2.0/ping`` ("Pong"), ``/api/v2.0/health`` (always HTTP 200, parse ``status``),
  ``/api/v2.0/systeminfo``; 1.x: ``/api/ping``, ``/api/systeminfo``.
* Users: ``/api/v2.0/users/current`` (1.x ``/api/users/current``) with basic auth or a UI session cookie.
* UI login ``POST /c/login`` (1.x ``POST /login``): the session lives in the EXTERNAL Redis, so a session
  made on node 1 is accepted on node 2. Session-authenticated writes need the ``X-Harbor-CSRF-Token``
  derived from ``CSRF_KEY`` (2.x), so nodes with different CSRF keys reject each other's forms.
* At start it connects to the external database (PostgreSQL for 2.x, MySQL/MariaDB for 1.x) and Redis
  with the configured credentials and refuses to start when it cannot. 1.x refuses a schema whose
  ``alembic_version`` is not the one it expects, like Harbor 1.5. 2.x migrates the schema like Harbor 2.x core
  (golang-migrate: ``schema_migrations``, the same advisory lock, dirty / unknown versions refused, one step per
  real migration file up to the version of its release, see ``ExternalStore._migrate_schema``).

``HARBOR_DOUBLE_STANDALONE=1`` runs without database and Redis (users and sessions in memory): the
module tests use it to stand up several token services quickly.

Settings come from where the real service reads them (see tests/harbor_double/LAYOUT.md):

* 2.x core: the env_file ``common/config/core/env`` (POSTGRESQL_*, _REDIS_URL_CORE, CORE_SECRET,
  JOBSERVICE_SECRET, CSRF_KEY, HARBOR_ADMIN_PASSWORD, EXT_ENDPOINT, CORE_URL, REGISTRY_URL,
  REGISTRY_CREDENTIAL_USERNAME, REGISTRY_CREDENTIAL_PASSWORD, PORT), key files
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
import http.client
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
import urllib.parse
import urllib.request
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.exceptions import InvalidSignature
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
# Harbor 2.x core migrates its PostgreSQL schema itself at start (src/core/main.go -> src/migration/migration.go ->
# src/common/dao/pgsql.go UpgradeSchema: golang-migrate Up() over /harbor/migrations/postgresql). The versions below
# are the file names of make/migrations/postgresql/<NNNN>_<identifier>.up.sql at the release tags (v2.10.0..v2.15.2);
# the double applies them in the same order, each one with its own small change (SCHEMA_CHANGES).
SCHEMA_MIGRATIONS = [(1, 'initial_schema'), (2, '1.7.0_schema'), (3, 'add_replication_op_uuid'), (4, '1.8.0_schema'),
                     (5, '1.8.2_schema'), (10, '1.9.0_schema'), (11, '1.9.1_schema'), (12, '1.9.4_schema'),
                     (15, '1.10.0_schema'), (30, '2.0.0_schema'), (31, '2.0.3_schema'), (40, '2.1.0_schema'),
                     (41, '2.1.4_schema'), (50, '2.2.0_schema'), (51, '2.2.1_schema'), (52, '2.2.2_schema'),
                     (53, '2.2.3_schema'), (60, '2.3.0_schema'), (61, '2.3.4_schema'), (70, '2.4.0_schema'),
                     (71, '2.4.2_schema'), (80, '2.5.0_schema'), (81, '2.5.2_schema'), (82, '2.5.3_schema'),
                     (90, '2.6.0_schema'), (91, '2.6.2_schema'), (100, '2.7.0_schema'), (110, '2.8.0_schema'),
                     (111, '2.8.1_schema'), (120, '2.9.0_schema'), (130, '2.10.0_schema'), (140, '2.11.0_schema'),
                     (150, '2.12.0_schema'), (160, '2.13.0_schema'), (170, '2.14.0_schema'), (171, '2.14.1_schema'),
                     (180, '2.15.0_schema')]
# release -> the newest migration its core ships (checked at every tag: 2.14.0 has 0170, 2.14.1..2.14.4 add 0171,
# 2.15.0..2.15.2 have 0180). A release the table does not know is refused at start.
_RELEASE_SCHEMA = (('2.10', range(0, 4), 130), ('2.11', range(0, 3), 140), ('2.12', range(0, 5), 150),
                   ('2.13', range(0, 6), 160), ('2.14', range(0, 1), 170), ('2.14', range(1, 5), 171),
                   ('2.15', range(0, 3), 180))
RELEASE_SCHEMA = {'%s.%d' % (minor, patch): version for minor, patches, version in _RELEASE_SCHEMA for patch in patches}
# The double's own change per migration (not Harbor's SQL): a table or column the real migration of that version
# adds, so a test can see which steps ran. Every statement is idempotent. Versions not listed only move the version.
SCHEMA_CHANGES = {
    1: ['CREATE TABLE IF NOT EXISTS harbor_user (user_id serial PRIMARY KEY, username varchar(255) UNIQUE, '
        'password varchar(40) NOT NULL, salt varchar(40), sysadmin_flag boolean DEFAULT false)',
        'CREATE TABLE IF NOT EXISTS properties (id serial PRIMARY KEY, k varchar(64) UNIQUE NOT NULL, v text)',
        'CREATE TABLE IF NOT EXISTS registry (id serial PRIMARY KEY, name varchar(256) UNIQUE, url varchar(256))',
        'CREATE TABLE IF NOT EXISTS replication_policy (id serial PRIMARY KEY, name varchar(256) UNIQUE)'],
    # 0170_2.14.0: replication_policy.single_active_replication (and vulnerability_record.status)
    170: ['CREATE TABLE IF NOT EXISTS replication_policy (id serial PRIMARY KEY, name varchar(256) UNIQUE)',
          'ALTER TABLE replication_policy ADD COLUMN IF NOT EXISTS single_active_replication boolean'],
    # 0180_2.15.0: registry.ca_certificate (the whole real migration)
    180: ['CREATE TABLE IF NOT EXISTS registry (id serial PRIMARY KEY, name varchar(256) UNIQUE, url varchar(256))',
          'ALTER TABLE registry ADD COLUMN IF NOT EXISTS ca_certificate text'],
}
MIGRATIONS_TABLE = 'schema_migrations'  # golang-migrate's default, Harbor keeps it
ADVISORY_LOCK_SALT = 1486364155  # golang-migrate database.GenerateAdvisoryLockId
ISSUER = 'harbor-token-issuer'
REGISTRY_SERVICE = 'harbor-registry'
SESSION_TTL = 1800
JWT_LEEWAY = 60  # seconds, Harbor's common.JwtLeeway
PROXY_TIMEOUT = 900  # seconds without data before the registry proxy gives up (nginx proxy_read_timeout)
PROXY_BUFFER = 65536
# Headers that belong to one connection (RFC 7230 6.1; Go's httputil.ReverseProxy drops the same set).
HOP_BY_HOP = {'connection', 'proxy-connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te',
              'trailer', 'transfer-encoding', 'upgrade'}
_REPO = r'(?P<name>(?:[a-z0-9]+(?:[._-]+[a-z0-9]+)*/)*[a-z0-9]+(?:[._-]+[a-z0-9]+)*)'
V2_REPOSITORY_PATH = re.compile(r'^/v2/' + _REPO + r'/(?:manifests/[^/]+|blobs/uploads/?[^/]*|blobs/[^/]+|tags/list'
                                r'|referrers/[^/]+)$')
V2_CATALOG_PATH = re.compile(r'^/v2/_catalog/?$')
# request method -> the repository action Harbor's v2auth (and distribution) asks the token for
V2_ACTIONS = {'GET': 'pull', 'HEAD': 'pull', 'POST': 'push', 'PUT': 'push', 'PATCH': 'push', 'DELETE': 'delete'}


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


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def v2_access(method, path, query):
    """What a /v2/ request needs, like Harbor's v2auth accessList.

    Returns a list of (type, name, action); [('login', '', '')] for ``/v2/`` itself; None when the request
    is not one Harbor recognises (it is refused).
    """
    if path == '/v2/':
        return [('login', '', '')]
    if V2_CATALOG_PATH.match(path):
        return [('registry', 'catalog', '*')]
    match = V2_REPOSITORY_PATH.match(path)
    action = V2_ACTIONS.get(method)
    if not match or not action:
        return None
    needed = [('repository', match.group('name'), action)]
    mount_from = urllib.parse.parse_qs(query).get('from')
    if method == 'POST' and mount_from:
        # cross-repository blob mount: pull on the source repository as well
        needed.append(('repository', mount_from[0], 'pull'))
    return needed


def scope_string(needed):
    """The scope parameter of Harbor's Bearer challenge ('repository:<name>:pull,push', ...)."""
    scopes = []
    for kind, name, action in needed:
        if kind == 'repository':
            scopes.append('repository:%s:%s' % (name, 'pull,push' if action == 'push' else action))
        elif kind == 'registry':
            scopes.append('registry:%s:%s' % (name, action))
    return ' '.join(scopes)


def access_granted(access, needed):
    """True when the token's access claim covers every (type, name, action) of the request."""
    for kind, name, action in needed:
        if kind == 'login':
            continue
        granted = False
        for item in access if isinstance(access, list) else []:
            if not isinstance(item, dict) or item.get('type') != kind or item.get('name') != name:
                continue
            actions = item.get('actions') or []
            if action in actions or '*' in actions:
                granted = True
                break
        if not granted:
            return False
    return True


def parse_scope(scope):
    """'repository:library/app:push,pull' -> {'type':..., 'name':..., 'actions': [...]}."""
    parts = scope.split(':')
    if len(parts) < 3:
        return None
    return {'type': parts[0], 'name': ':'.join(parts[1:-1]), 'actions': [a for a in parts[-1].split(',') if a]}


def harbor_release(env):
    """The Harbor release this core is: the image's HARBOR_DOUBLE_VERSION (v2.15.0 -> 2.15.0); 2.15.0 from source."""
    return (env.get('HARBOR_DOUBLE_VERSION') or 'v2.15.0').lstrip('v')


def expected_schema_version(release):
    """The schema version the core of ``release`` migrates to (its newest make/migrations/postgresql file)."""
    if release not in RELEASE_SCHEMA:
        known = ', '.join('%s.%d-%s.%d' % (minor, patches[0], minor, patches[-1]) if len(patches) > 1 else '%s.%d' % (minor, patches[0])
                          for minor, patches, _version in _RELEASE_SCHEMA)
        raise RuntimeError('Harbor %s: the core double knows no database schema version for this release (it knows %s): '
                           'add it to RELEASE_SCHEMA from make/migrations/postgresql at the release tag' % (release, known))
    return RELEASE_SCHEMA[release]


def advisory_lock_id(database, schema, table=MIGRATIONS_TABLE):
    """The pg_advisory_lock key golang-migrate's postgres/pgx drivers use: crc32(schema NUL table NUL database) times
    a salt, as uint32. Harbor cores of every 2.x release migrating one database take this same lock."""
    return (zlib.crc32('\x00'.join([schema, table, database]).encode('utf-8')) * ADVISORY_LOCK_SALT) & 0xffffffff


class MigrationError(Exception):
    """golang-migrate refused or failed (dirty schema, unknown version, lock timeout, a failing step)."""


class TokenSigner(object):
    """Signs and checks tokens with private_key.pem. Harbor's core reads that file for every token it issues
    (core/service/token MakeToken: libtrust.LoadKeyFile) and every bearer token it checks (pkg/token
    DefaultTokenOptions: ReadFile): no restart is needed to see a new key in the file the container sees. The double
    reads it again whenever the file changed (inode, size, mtime), which answers the same."""

    def __init__(self, key_path, expiration_minutes):
        self.key_path, self.seen, self.lock = key_path, None, threading.Lock()
        self.expiration = int(expiration_minutes) * 60
        self.load()

    def load(self):
        """(private key, public key, key id) as the file holds them now."""
        with self.lock:
            self._load()
            return self.key, self.public_key, self.kid

    def _load(self):
        info = os.stat(self.key_path)
        seen = (info.st_ino, info.st_size, info.st_mtime_ns)
        if seen == self.seen:
            return
        with open(self.key_path, 'rb') as handle:
            pem = handle.read()
        if b'BEGIN RSA PRIVATE KEY' not in pem:
            # Harbor 2.x fails token signing with a PKCS#8 key; the double refuses it at start.
            raise ValueError('%s is not a PKCS#1 RSA private key ("BEGIN RSA PRIVATE KEY")' % self.key_path)
        self.key = serialization.load_pem_private_key(pem, password=None)
        self.public_key = self.key.public_key()
        self.kid = libtrust_key_id(self.public_key)
        if self.seen is not None:
            log('token key changed in %s (key id %s)' % (self.key_path, self.kid))
        self.seen = seen

    def verify(self, token, audience):
        """Claims of a token signed by this node's key (RS256), or raises ValueError (why it is invalid)."""
        dummy, public_key, dummy = self.load()
        parts = token.split('.')
        if len(parts) != 3:
            raise ValueError('malformed token')
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            signature = b64url_decode(parts[2])
        except ValueError as exc:
            raise ValueError('malformed token: %s' % exc) from exc
        if not isinstance(header, dict) or header.get('alg') != 'RS256':
            raise ValueError('signing method %r is not RS256' % (header.get('alg') if isinstance(header, dict) else None))
        try:
            public_key.verify(signature, (parts[0] + '.' + parts[1]).encode('ascii'), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise ValueError('token signature is invalid (signed by another key)') from exc
        if not isinstance(claims, dict):
            raise ValueError('token claims are not an object')
        if claims.get('iss') != ISSUER:
            raise ValueError('token issuer %r is not %r' % (claims.get('iss'), ISSUER))
        aud = claims.get('aud')
        if audience not in (aud if isinstance(aud, list) else [aud]):
            raise ValueError('token audience %r is not %r' % (aud, audience))
        now = time.time()
        try:
            if 'exp' in claims and now > float(claims['exp']) + JWT_LEEWAY:
                raise ValueError('token is expired')
            if 'nbf' in claims and now < float(claims['nbf']) - JWT_LEEWAY:
                raise ValueError('token is not valid yet')
        except TypeError as exc:
            raise ValueError('token exp/nbf are not numbers') from exc
        return claims

    def issue(self, subject, service, access):
        key, dummy, kid = self.load()
        now = int(time.time())
        header = {'typ': 'JWT', 'alg': 'RS256', 'kid': kid}
        claims = {
            'iss': ISSUER, 'sub': subject, 'aud': service, 'exp': now + self.expiration,
            'nbf': now - 1, 'iat': now, 'jti': secrets.token_hex(16), 'access': access,
        }
        signing_input = b64url(json.dumps(header, separators=(',', ':')).encode()) + '.' + \
            b64url(json.dumps(claims, separators=(',', ':')).encode())
        signature = key.sign(signing_input.encode('ascii'), padding.PKCS1v15(), hashes.SHA256())
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


def ui_v1_redis_settings(save_path):
    """Harbor 1.5 ui: _REDIS_URL is the config of beego's redis session provider (v1.5.4 src/ui/main.go,
    vendor/github.com/astaxie/beego/session/redis): split at EVERY ',' into addr, pool size, password (verbatim,
    not decoded) and db (not a number, or negative: 0); addr is dialed as it is (net.Dial "tcp": host:port, a
    port is required). A URL is not understood. Returns (host, port, password or None, db, username None)."""
    configs = save_path.split(',')
    addr = configs[0]
    password = configs[2] if len(configs) > 2 else ''
    db = int(configs[3]) if len(configs) > 3 and re.match(r'^[+-]?[0-9]+$', configs[3]) else 0
    colon = addr.rfind(':')
    host, port = (addr[:colon], addr[colon + 1:]) if colon >= 0 else (addr, None)
    if host.startswith('[') and host.endswith(']'):
        host = host[1:-1]
    if port is None or ':' in host and not addr.startswith('['):
        raise RuntimeError('_REDIS_URL: dial tcp: address %s: %s'
                           % (addr, 'missing port in address' if port is None else 'too many colons in address'))
    if not re.match(r'^[+-]?[0-9]+$', port) or not 0 <= int(port) <= 65535:
        raise RuntimeError('_REDIS_URL: dial tcp: lookup tcp/%s: Servname not supported for ai_socktype' % port)
    return host, int(port), password or None, max(db, 0), None


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
        return ui_v1_redis_settings(url)

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
                            dbname=env.get('POSTGRESQL_DATABASE', 'registry'), sslmode=env.get('POSTGRESQL_SSLMODE', 'disable'))
            # Like Harbor 2.x core (src/common/dao/pgsql.go): an UNQUOTED key=value DSN, parsed by the driver
            # (pgx there, libpq here, same rules): whitespace ends a value, a backslash escapes, a leading quote
            # starts a quoted value. A password with those characters does not reach PostgreSQL intact.
            dsn = 'host=%(host)s port=%(port)s user=%(user)s password=%(password)s dbname=%(dbname)s sslmode=%(sslmode)s' % settings
            conn = psycopg2.connect(dsn + ' connect_timeout=5')
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
            # Harbor 2.x core creates and migrates its schema itself before it does anything else with the database.
            self._migrate_schema()
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

    # -- schema migration (2.x) ------------------------------------------------------------------
    def _migrate_schema(self):
        """Harbor 2.x core at start (migration.Migrate -> dao.UpgradeSchema -> golang-migrate Up, pgx driver):

        * making the migrator (ensureVersionTable) takes the advisory lock, waiting as long as it takes, creates
          ``schema_migrations`` when absent and releases the lock: a core started while another one migrates
          waits here, then finds nothing to do;
        * Up() takes the lock again, giving up after golang-migrate's LockTimeout (15 s: "timeout: can't acquire
          database lock"); a dirty schema is refused ("Dirty database version N. Fix and force version."); a
          version this release has no migration file for (a newer release migrated the database: a downgrade) is
          refused ("no migration found for version N"); else every newer migration is applied in order, each one
          marked dirty first and clean after, and logged "<version>/u <identifier> (<duration>)";
        * any error: "Failed to upgrade schema", then core exits 1 ("failed to migrate the database").
        The double's steps take HARBOR_DOUBLE_MIGRATION_SECONDS (default 3) in all, spread over the steps, while
        the version is dirty and the lock held. Like Harbor, nothing checks the schema again once core serves.
        """
        release = harbor_release(self.env)
        expected = expected_schema_version(release)
        known = [version for version, _ident in SCHEMA_MIGRATIONS if version <= expected]
        identifiers = dict(SCHEMA_MIGRATIONS)
        lock_timeout = float(self.env.get('HARBOR_DOUBLE_MIGRATION_LOCK_TIMEOUT', '15'))
        total = float(self.env.get('HARBOR_DOUBLE_MIGRATION_SECONDS', '3'))
        try:
            database, schema = self._query('SELECT current_database(), current_schema()')[0]
            lock_id = advisory_lock_id(database, schema)
            table = '"%s"."%s"' % (schema.replace('"', '""'), MIGRATIONS_TABLE)
            self._advisory_lock(lock_id, None)
            try:
                if not self._query('SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s',
                                   (schema, MIGRATIONS_TABLE)):
                    self._query('CREATE TABLE IF NOT EXISTS %s (version bigint not null primary key, dirty boolean not null)'
                                % table, fetch=False)
                    log('created %s (a new database)' % table)
            finally:
                self._advisory_unlock(lock_id)
            version, dirty = self._schema_version(table)
            log('current database schema version: %s%s; Harbor %s migrates to %d'
                % ('none' if version is None else version, ' (dirty)' if dirty else '', release, expected))
            log('Upgrading schema for pgsql ...')
            self._advisory_lock(lock_id, lock_timeout)
            try:
                self._upgrade(table, known, identifiers, total)
            finally:
                self._advisory_unlock(lock_id)
        except (MigrationError, RuntimeError) as exc:
            log('Failed to upgrade schema, error: "%s"' % exc)
            raise RuntimeError('failed to migrate the database, error: %s' % exc) from exc
        except Exception as exc:  # pylint: disable=broad-except
            # a failing statement leaves the version dirty, like a failing migration file
            log('Failed to upgrade schema, error: "%s"' % str(exc).strip())
            raise RuntimeError('failed to migrate the database, error: %s' % str(exc).strip()) from exc
        log('The database has been migrated successfully')

    def _upgrade(self, table, known, identifiers, total):
        version, dirty = self._schema_version(table)
        if dirty:
            raise MigrationError('Dirty database version %d. Fix and force version.' % version)
        if version is not None and version not in known:
            message = 'no migration found for version %d: read down for version %d .: file does not exist' % (version, version)
            log('error: %s' % message)
            raise MigrationError(message)
        steps = [step for step in known if version is None or step > version]
        if not steps:
            log('No change in schema, skip.')
            return
        pause = max(total, 0.0) / len(steps)
        log('migrating the schema from %s to %d: %d migration(s), about %.1fs (HARBOR_DOUBLE_MIGRATION_SECONDS)'
            % ('none' if version is None else version, steps[-1], len(steps), max(total, 0.0)))
        started = time.time()
        for step in steps:
            step_started = time.time()
            self._set_version(table, step, True)
            for statement in SCHEMA_CHANGES.get(step, []):
                self._query(statement, fetch=False)
            time.sleep(pause)
            self._set_version(table, step, False)
            log('%d/u %s (%.3fs)' % (step, identifiers[step], time.time() - step_started))
        log('schema migrated from %s to %d in %.1fs' % ('none' if version is None else version, steps[-1], time.time() - started))

    def _schema_version(self, table):
        rows = self._query('SELECT version, dirty FROM %s LIMIT 1' % table)
        return (int(rows[0][0]), bool(rows[0][1])) if rows else (None, False)

    def _set_version(self, table, version, dirty):
        # golang-migrate SetVersion: one transaction, TRUNCATE then INSERT
        self._query('BEGIN; TRUNCATE %s; INSERT INTO %s (version, dirty) VALUES (%%s, %%s); COMMIT' % (table, table),
                    (version, dirty), fetch=False)

    def _advisory_lock(self, lock_id, timeout):
        """pg_advisory_lock(lock_id) on this session; timeout None waits as long as it takes (golang-migrate's
        driver), else MigrationError after timeout seconds (golang-migrate's LockTimeout). Polled, so a stop works."""
        if self._query('SELECT pg_try_advisory_lock(%s)', (lock_id,))[0][0]:
            return
        started = time.time()
        log('the schema migration lock (pg_advisory_lock %d) is held by another process: waiting%s'
            % (lock_id, '' if timeout is None else ' up to %gs' % timeout))
        while True:
            time.sleep(0.5)
            if self._query('SELECT pg_try_advisory_lock(%s)', (lock_id,))[0][0]:
                log('got the schema migration lock after %.1fs' % (time.time() - started))
                return
            if timeout is not None and time.time() - started > timeout:
                raise MigrationError("timeout: can't acquire database lock")

    def _advisory_unlock(self, lock_id):
        self._query('SELECT pg_advisory_unlock(%s)', (lock_id,))

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
        # 2.x: core reaches the registry with this basic credential (prepare writes the bcrypt of the
        # password to registry/passwd; the registry's auth.htpasswd checks it).
        self.registry_username = env.get('REGISTRY_CREDENTIAL_USERNAME', '')
        self.registry_password = env.get('REGISTRY_CREDENTIAL_PASSWORD', '')

    def registry_authorization(self):
        if not self.registry_username:
            return None
        raw = ('%s:%s' % (self.registry_username, self.registry_password)).encode('utf-8')
        return 'Basic ' + base64.b64encode(raw).decode('ascii')

    def token_realm(self, host):
        """Harbor 2.x core's tokenSvcURL: the internal core URL when the request names it, else the scheme
        of EXT_ENDPOINT with the request's Host (nginx passes the client's), else EXT_ENDPOINT."""
        internal = self.env.get('CORE_URL', '')
        if internal and host and _same_host(host, internal):
            return internal.rstrip('/') + '/service/token'
        ext = self.env.get('EXT_ENDPOINT', '')
        if host:
            scheme, sep, _rest = ext.partition('://')
            return '%s/service/token' % ((scheme + '://' + host) if sep else host)
        return ext.rstrip('/') + '/service/token'

    def csrf_token(self, sid):
        return hmac.new(self.csrf_key.encode('utf-8'), sid.encode('utf-8'), hashlib.sha256).hexdigest()[:32]

    def registry_health(self):
        if not self.registry_url:
            return 'healthy'
        if self.generation == 'v2':
            # Harbor 2.x core: GET <registry>/ must answer 200 (distribution's unauthenticated liveness path;
            # /v2/ is behind htpasswd now, and the credential is not part of Harbor's health check).
            url = self.registry_url.rstrip('/') + '/'
            try:
                with urllib.request.urlopen(url, timeout=3) as response:  # nosec - lab-internal URL
                    return 'healthy' if response.status == 200 else 'unhealthy: HTTP %s' % response.status
            except urllib.error.HTTPError as exc:
                return 'unhealthy: received unexpected status code: %s' % exc.code
            except Exception as exc:  # pylint: disable=broad-except
                return 'unhealthy: %s' % exc
        try:
            urllib.request.urlopen(self.registry_url.rstrip('/') + '/v2/', timeout=3)  # nosec - lab-internal URL
            return 'healthy'
        except urllib.error.HTTPError as exc:
            return 'healthy' if exc.code in (200, 401) else 'unhealthy: HTTP %s' % exc.code
        except Exception as exc:  # pylint: disable=broad-except
            return 'unhealthy: %s' % exc


def _same_host(host, raw_url):
    """Harbor's v2auth match(): the request Host names the URL (default ports ignored)."""
    parsed = urllib.parse.urlsplit(raw_url)
    cfg_host = parsed.netloc
    if (parsed.scheme, parsed.port) in (('http', 80), ('https', 443)):
        cfg_host = parsed.hostname
    for scheme, port in (('http', ':80'), ('https', ':443')):
        if parsed.scheme == scheme and host.endswith(port):
            host = host[:-len(port)]
    return host == cfg_host


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

    def _is_v2(self):
        return self.core.generation == 'v2' and urllib.parse.urlsplit(self.path).path.startswith('/v2/')

    # -- routes -------------------------------------------------------------------------------
    def do_HEAD(self):  # pylint: disable=invalid-name
        if self._is_v2():
            return self.registry_v2()
        return self.send_error(501, 'Unsupported method (%r)' % self.command)

    def do_PUT(self):  # pylint: disable=invalid-name
        return self.do_HEAD()

    def do_PATCH(self):  # pylint: disable=invalid-name
        return self.do_HEAD()

    def do_DELETE(self):  # pylint: disable=invalid-name
        return self.do_HEAD()

    def do_GET(self):  # pylint: disable=invalid-name
        if self._is_v2():
            return self.registry_v2()
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
        if self._is_v2():
            return self.registry_v2()
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

    # -- /v2/ (2.x): Harbor's v2auth check, then the reverse proxy to the registry ----------------
    def registry_v2(self):
        url = urllib.parse.urlsplit(self.path)
        needed = v2_access(self.command, url.path, url.query)
        auth = self.headers.get('Authorization', '')
        scheme, _sep, credential = auth.strip().partition(' ')
        if needed is None:
            return self._v2_refuse(None, 'un-recognized request: %s %s' % (self.command, url.path))
        if scheme.lower() == 'bearer':
            try:
                claims = self.core.signer.verify(credential.strip(), REGISTRY_SERVICE)
            except ValueError as exc:
                return self._v2_refuse(needed, str(exc), 'invalid_token')
            if not access_granted(claims.get('access'), needed):
                return self._v2_refuse(needed, 'unauthorized to access %s' % scope_string(needed), 'insufficient_scope')
        elif scheme.lower() == 'basic':
            _username, ok = self._basic_user()
            if not ok:
                # Harbor answers a request that carried credentials with a Basic challenge
                return self._v2_refuse(needed, 'invalid username or password', basic=True)
        else:
            return self._v2_refuse(needed, 'authorize header needed to send %s to %s' % (self.command, url.path))
        return self._proxy_to_registry()

    def _v2_refuse(self, needed, message, error=None, basic=False):
        if basic:
            challenge = 'Basic realm="harbor"'
        else:
            challenge = 'Bearer realm="%s",service="%s"' % (self.core.token_realm(self.headers.get('Host', '')), REGISTRY_SERVICE)
            scope = scope_string(needed or [])
            if scope:
                challenge += ',scope="%s"' % scope
            if error:
                challenge += ',error="%s"' % error
        log('/v2/ refused: %s %s: %s' % (self.command, urllib.parse.urlsplit(self.path).path, message))
        self._discard_request_body()
        body = json.dumps({'errors': [{'code': 'UNAUTHORIZED', 'message': message}]}).encode('utf-8')
        self.send_response(401)
        self.send_header('Content-Type', 'application/json; charset=utf-8')
        self.send_header('Docker-Distribution-Api-Version', 'registry/2.0')
        self.send_header('WWW-Authenticate', challenge)
        self.send_header('Content-Length', str(len(body)))
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    def _discard_request_body(self):
        """Reads a small refused body so the connection can be reused; closes it after a large or chunked one."""
        length = self.headers.get('Content-Length')
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower() or (length and int(length) > 1048576):
            self.close_connection = True
        elif length:
            self.rfile.read(int(length))

    def _proxy_to_registry(self):
        """httputil.NewSingleHostReverseProxy(REGISTRY_URL) + basic auth, like Harbor 2.x core: the Host
        header, X-Forwarded-Proto and the body pass through (streamed), the registry's answer comes back as is."""
        target = urllib.parse.urlsplit(self.core.registry_url or 'http://registry:5000')
        path = target.path.rstrip('/') + self.path
        conn = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=PROXY_TIMEOUT)
        try:
            try:
                self._forward_request(conn, path)
            except OSError as exc:
                # the registry may answer (and close) before it read the whole body: use its answer if any
                self.close_connection = True
                log('registry proxy: sending %s %s failed: %s' % (self.command, path, exc))
            try:
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                self.close_connection = True
                log('registry proxy: %s %s: %s' % (self.command, path, exc))
                return self._send(502, {'errors': [{'code': 'UNKNOWN', 'message': 'registry unreachable: %s' % exc}]})
            if response.status == 401:
                log('registry proxy: the registry refused core\'s credential (%s %s -> 401): REGISTRY_CREDENTIAL_USERNAME/'
                    'REGISTRY_CREDENTIAL_PASSWORD do not match the registry\'s htpasswd file' % (self.command, path))
            self._forward_response(response)
        finally:
            conn.close()

    def _forward_request(self, conn, path):
        chunked = 'chunked' in self.headers.get('Transfer-Encoding', '').lower()
        # the registry gets core's credential instead of the client's; http.server already answered Expect
        dropped = set(HOP_BY_HOP) | {'authorization', 'expect', 'x-forwarded-for'}
        if chunked:
            dropped.add('content-length')
        for token in self.headers.get('Connection', '').split(','):
            dropped.add(token.strip().lower())
        conn.putrequest(self.command, path, skip_host=True, skip_accept_encoding=True)
        for name, value in self.headers.items():
            if name.lower() not in dropped:
                conn.putheader(name, value)
        forwarded = self.headers.get_all('X-Forwarded-For') or []
        conn.putheader('X-Forwarded-For', ', '.join(forwarded + [self.client_address[0]]))
        authorization = self.core.registry_authorization()
        if authorization:
            conn.putheader('Authorization', authorization)
        if chunked:
            conn.putheader('Transfer-Encoding', 'chunked')
        conn.endheaders()
        if chunked:
            self._relay_chunked_body(conn)
            return
        remaining = int(self.headers.get('Content-Length') or 0)
        while remaining > 0:
            data = self.rfile.read(min(remaining, PROXY_BUFFER))
            if not data:
                self.close_connection = True
                raise ConnectionError('the client closed the connection with %d body bytes left' % remaining)
            conn.send(data)
            remaining -= len(data)

    def _relay_chunked_body(self, conn):
        """Client chunked body -> registry, chunk by chunk (never the whole body in memory)."""
        while True:
            line = self.rfile.readline(65537)
            if not line:
                self.close_connection = True
                raise ConnectionError('the client closed the connection inside a chunked body')
            size = int(line.split(b';', 1)[0].strip() or b'0', 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b'\r\n', b'\n', b''):
                    pass  # trailers are dropped
                conn.send(b'0\r\n\r\n')
                return
            conn.send(b'%x\r\n' % size)
            remaining = size
            while remaining > 0:
                data = self.rfile.read(min(remaining, PROXY_BUFFER))
                if not data:
                    self.close_connection = True
                    raise ConnectionError('the client closed the connection inside a chunk')
                conn.send(data)
                remaining -= len(data)
            self.rfile.readline(3)
            conn.send(b'\r\n')

    def _forward_response(self, response):
        self.log_request(response.status)
        self.send_response_only(response.status, response.reason)
        no_body = self.command == 'HEAD' or response.status in (204, 304) or 100 <= response.status < 200
        length = response.getheader('Content-Length')
        rechunk = not no_body and (response.chunked or length is None)
        dropped = set(HOP_BY_HOP)
        for token in (response.getheader('Connection') or '').split(','):
            dropped.add(token.strip().lower())
        for name, value in response.getheaders():
            if name.lower() not in dropped:
                self.send_header(name, value)
        if rechunk:
            self.send_header('Transfer-Encoding', 'chunked')
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if no_body:
            return
        sent, broken = 0, False
        while True:
            try:
                data = response.read1(PROXY_BUFFER) if rechunk else response.read(PROXY_BUFFER)
            except (OSError, http.client.HTTPException) as exc:
                log('registry proxy: reading the answer to %s %s failed: %s' % (self.command, self.path, exc))
                data, broken = b'', True
            if not data:
                break
            sent += len(data)
            if rechunk:
                self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data))
            else:
                self.wfile.write(data)
        if broken or (not rechunk and sent != int(length)):
            # the registry stopped early: the client must see a broken transfer, not a short success
            self.close_connection = True
        elif rechunk:
            self.wfile.write(b'0\r\n\r\n')
        self.wfile.flush()

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
        if args.generation == 'v2' and not standalone:
            expected_schema_version(harbor_release(env))  # an unknown release fails before it touches the database
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
