# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Harbor service DOUBLES: jobservice, registryctl (2.x) and adminserver (1.x).

Test code for the registryops.harbor_ha lab, not Harbor. Each reads its settings from the same files and
env keys as the real service and refuses to start without the backends the real one needs:

* ``jobservice -c /etc/jobservice/config.yml``: Redis from ``worker_pool.redis_pool.redis_url`` (must answer),
  port from ``port``; ``--generation v1`` reads ``redis_url`` like Harbor 1.5.4's jobservice (see
  ``v1_jobservice_redis_url``: the comma form with a host NAME and a password fails as in goharbor/harbor#6090);
  ``GET /api/v1/stats`` (health); ``POST /api/v1/jobs`` needs ``Authorization: Harbor-Secret <CORE_SECRET>``
  (what real jobservice checks) and queues the job in the shared Redis with the enqueuing node's
  ``JOBSERVICE_SECRET``; a worker on ANY node runs queued jobs and fails those whose secret differs from its own
  (the HA failure of issue #20908). ``GET /api/v1/jobs/<id>`` shows the outcome.
* ``registryctl -c /etc/registryctl/config.yml``: ``GET /api/health``; needs ``/etc/registry/config.yml``.
* ``adminserver`` (1.x): env from ``common/config/adminserver/env`` (``MYSQL_*``, ``UI_SECRET``,
  ``JOBSERVICE_SECRET``, ``RESET``, ``RELOAD_KEY``, ...), key ``/etc/adminserver/key``; connects to MySQL,
  keeps the configuration in the ``properties`` table (password-like values encrypted with the secretkey,
  ``<enc-v1>`` AES-CFB like Harbor 1.5) and serves ``GET/PUT /api/configurations`` (Harbor-Secret
  auth with UI_SECRET or JOBSERVICE_SECRET), ``POST /api/configurations/reset``, ``GET /api/ping``.
"""

import argparse
import base64
import datetime
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JOB_NAMESPACE_DEFAULT = 'harbor_job_service_namespace'


def log(component, msg):
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    sys.stdout.write('%s %s-double: %s\n' % (now, component, msg))
    sys.stdout.flush()


def load_yaml(path):
    import yaml  # pylint: disable=import-outside-toplevel
    with open(path) as handle:
        return yaml.safe_load(handle) or {}


# ------------------------------------------------------------ Harbor 1.5 jobservice: how it reads redis_url
# Read from Harbor v1.5.4: src/jobservice/config/config.go (Load: "translate redis url if needed", validate),
# src/jobservice/utils/utils.go (TranslateRedisAddress), src/jobservice/runtime/bootstrap.go (redis.DialURL) and
# src/jobservice/pool/redis_pool.go (ping: 10 tries, then "connect to redis server timeout: <error>"), the vendored
# garyburd/redigo DialURL, and Go 1.9's net/url and net (1.5.4 is built with golang:1.9.2). Go's url.Parse takes
# "redis.example.com:6379,100,passwd,0" as scheme "redis.example.com" + opaque, so Load only prefixes "redis://"
# and the dial asks for port "6379,100,passwd,0" (issue #6090); with an IP (no valid scheme) the parse fails and
# the comma form is translated to redis://arbitrary_username:<password, verbatim>@host:port/db.

class GoURLError(ValueError):
    """An error of Go 1.9's url.Parse (message as Go prints it)."""


class RedisDialError(Exception):
    """An error of redigo's DialURL / net.Dial (message as Go prints it)."""


def _go_split(text, sep, cut):
    i = text.find(sep)
    if i < 0:
        return text, ''
    return (text[:i], text[i + len(sep):]) if cut else (text[:i], text[i:])


def _go_should_escape(c, mode):
    if c.isascii() and c.isalnum():
        return False
    if mode in ('host', 'zone') and c in "!$&'()*+,;=:[]<>\"":
        return False
    if c in '-_.~':
        return False
    if c in '$&+,/:;=?@':
        return {'path': c == '?', 'userinfo': c in '@/?:', 'fragment': False}.get(mode, True)
    return True


def _go_unescape(text, mode):
    data = text.encode('utf-8', 'surrogateescape')
    out, i = bytearray(), 0
    while i < len(data):
        c = data[i]
        if c == 0x25:  # '%'
            esc = data[i:i + 3]
            if i + 2 >= len(data) or not all(chr(x) in '0123456789abcdefABCDEF' for x in data[i + 1:i + 3]):
                raise GoURLError('invalid URL escape "%s"' % esc.decode('utf-8', 'replace'))
            value = int(data[i + 1:i + 3], 16)
            if mode == 'host' and value < 0x80 and esc != b'%25':
                raise GoURLError('invalid URL escape "%s"' % esc.decode())
            if mode == 'zone' and esc != b'%25' and value != 0x20 and _go_should_escape(chr(value), 'host'):
                raise GoURLError('invalid URL escape "%s"' % esc.decode())
            out.append(value)
            i += 3
            continue
        if mode in ('host', 'zone') and c < 0x80 and _go_should_escape(chr(c), mode):
            raise GoURLError('invalid character "%s" in host name' % chr(c))
        out.append(c)
        i += 1
    return out.decode('utf-8', 'surrogateescape')


def _go_parse_host(host):
    if host.startswith('['):
        i = host.rfind(']')
        if i < 0:
            raise GoURLError("missing ']' in host")
        colon_port = host[i + 1:]
        if colon_port and not re.match(r'^:[0-9]*$', colon_port):
            raise GoURLError('invalid port "%s" after host' % colon_port)
        zone = host[:i].find('%25')
        if zone >= 0:
            return _go_unescape(host[:zone], 'host') + _go_unescape(host[zone:i], 'zone') + _go_unescape(host[i:], 'host')
    return _go_unescape(host, 'host')  # Go 1.9 checks no port here: "host:6379,100,pw,0" is a valid host


def go_url_parse(raw):
    """Go 1.9 net/url.Parse -> dict(scheme, opaque, user (None or (username, password or None)), host, path,
    raw_query, fragment); raises GoURLError("parse <url>: <reason>")."""
    rest, fragment = _go_split(raw, '#', True)
    url = {'scheme': '', 'opaque': '', 'user': None, 'host': '', 'path': '', 'raw_query': '', 'fragment': ''}
    try:
        if rest == '*':
            url['path'] = '*'
            return url
        scheme = ''
        for i, c in enumerate(rest):
            if c.isascii() and c.isalpha():
                continue
            if c.isascii() and (c.isdigit() or c in '+-.'):
                if i == 0:
                    break
                continue
            if c == ':':
                if i == 0:
                    raise GoURLError('missing protocol scheme')
                scheme, rest = rest[:i], rest[i + 1:]
            break
        url['scheme'] = scheme.lower()
        if rest.endswith('?') and rest.count('?') == 1:
            rest = rest[:-1]
        else:
            rest, url['raw_query'] = _go_split(rest, '?', True)
        if not rest.startswith('/'):
            if url['scheme']:
                url['opaque'] = rest  # rootless: opaque, nothing more is checked
                return url
            colon, slash = rest.find(':'), rest.find('/')
            if colon >= 0 and (slash < 0 or colon < slash):
                raise GoURLError('first path segment in URL cannot contain colon')
        if (url['scheme'] or not rest.startswith('///')) and rest.startswith('//'):
            authority, rest = _go_split(rest[2:], '/', False)
            at = authority.rfind('@')
            url['host'] = _go_parse_host(authority[at + 1:] if at >= 0 else authority)
            if at >= 0:
                userinfo = authority[:at]
                if ':' in userinfo:
                    username, password = _go_split(userinfo, ':', True)
                    url['user'] = (_go_unescape(username, 'userinfo'), _go_unescape(password, 'userinfo'))
                else:
                    url['user'] = (_go_unescape(userinfo, 'userinfo'), None)
        url['path'] = _go_unescape(rest, 'path')
    except GoURLError as exc:
        raise GoURLError('parse %s: %s' % (raw.partition('#')[0], exc)) from None
    if fragment:
        try:
            url['fragment'] = _go_unescape(fragment, 'fragment')
        except GoURLError as exc:
            raise GoURLError('parse %s: %s' % (raw, exc)) from None
    return url


def go_split_host_port(hostport):
    """Go's net.SplitHostPort; raises ValueError("address <hostport>: <reason>")."""
    def error(why):
        return ValueError('address %s: %s' % (hostport, why))
    i = hostport.rfind(':')
    if i < 0:
        raise error('missing port in address')
    j = k = 0
    if hostport.startswith('['):
        end = hostport.find(']')
        if end < 0:
            raise error("missing ']' in address")
        if end + 1 == len(hostport):
            raise error('missing port in address')
        if end + 1 != i:
            raise error('too many colons in address' if hostport[end + 1] == ':' else 'missing port in address')
        host, j, k = hostport[1:end], 1, end + 1
    else:
        host = hostport[:i]
        if ':' in host:
            raise error('too many colons in address')
    if '[' in hostport[j:]:
        raise error("unexpected '[' in address")
    if ']' in hostport[k:]:
        raise error("unexpected ']' in address")
    return host, hostport[i + 1:]


def go_lookup_port(port):
    """The port net.Dial("tcp", ...) resolves (cgo resolver: GODEBUG=netdns=cgo in Harbor 1.5's env files)."""
    if port == '':
        return 0
    if re.match(r'^[+-]?[0-9]+$', port):
        number = int(port)
    else:
        try:
            number = socket.getservbyname(port, 'tcp')
        except OSError:
            raise RedisDialError('dial tcp: lookup tcp/%s: Servname not supported for ai_socktype' % port) from None
    if not 0 <= number <= 65535:
        raise RedisDialError('dial tcp: address %s: invalid port' % port)
    return number


def _go_is_empty(text):
    return text.strip() == ''  # utils.IsEmptyStr: strings.TrimSpace


def translate_redis_address(comma_format):
    """utils.TranslateRedisAddress: host:port[,weight,password,db] -> (redis://[arbitrary_username:<pw>@]host:port[/db], ok)."""
    if _go_is_empty(comma_format):
        return '', False
    sections = comma_format.split(',')
    try:
        go_url_parse('redis://%s' % sections[0])
    except GoURLError:
        return '', False
    parts = ['redis://', sections[0]]
    if len(sections) >= 3 and not _go_is_empty(sections[2]):
        parts = [parts[0], 'arbitrary_username:%s@' % sections[2], parts[1]]
    if len(sections) >= 4 and not _go_is_empty(sections[3]) and re.match(r'^[+-]?[0-9]+$', sections[3]):
        parts += ['/', sections[3]]
    return ''.join(parts), True


def v1_jobservice_redis_url(address):
    """config.Load + validate of Harbor 1.5.4's jobservice: the URL it dials; ValueError = configuration refused."""
    if not _go_is_empty(address):
        try:
            go_url_parse(address)
        except GoURLError:
            translated, ok = translate_redis_address(address)
            if ok:
                address = translated
        else:
            if not address.startswith('redis://'):
                address = 'redis://' + address
    if _go_is_empty(address):
        raise ValueError('URL of redis pool is empty')
    if not address.startswith('redis://'):
        raise ValueError('Invalid redis URL')
    try:
        go_url_parse(address)
    except GoURLError as exc:
        raise ValueError('Invalid redis URL: %s' % exc) from None
    return address


def redigo_dial_url(raw):
    """redigo DialURL up to the TCP dial: (host, port, password or None, db); RedisDialError as the dial returns it."""
    try:
        url = go_url_parse(raw)
    except GoURLError as exc:
        raise RedisDialError(str(exc)) from None
    if url['scheme'] not in ('redis', 'rediss'):
        raise RedisDialError('invalid redis URL scheme: %s' % url['scheme'])
    try:
        host, port = go_split_host_port(url['host'])
    except ValueError:
        host, port = url['host'], '6379'  # "assume port is missing"
    host = host or 'localhost'
    password = url['user'][1] if url['user'] else None  # percent-decoded; the username is ignored
    match = re.search(r'/([0-9]*)\Z', url['path'])
    if match:
        db = int(match.group(1) or 0)
    elif url['path']:
        raise RedisDialError('invalid database: %s' % url['path'][1:])
    else:
        db = 0
    return host, go_lookup_port(port), password or None, db


class _Undialable(object):
    """What the 1.5 jobservice's pool hands out when every dial fails the same way: ping() raises that error."""

    def __init__(self, error):
        self.error = error

    def ping(self):
        raise self.error


def redis_from_url(url, generation='v2'):
    """redis://[user:password@]host:port[/db][?idle_timeout_seconds=N]; ``generation='v1'``: the redis_url of
    Harbor 1.5's jobservice config (comma form or URL), resolved exactly like Harbor 1.5.4 does (ValueError for a
    configuration it refuses; a client whose ping() raises the dial error when it cannot dial)."""
    import redis  # pylint: disable=import-outside-toplevel
    if generation == 'v1':
        url = v1_jobservice_redis_url(url)
        try:
            host, port, password, db = redigo_dial_url(url)
        except RedisDialError as exc:
            return _Undialable(exc), url
        client = redis.Redis(host=host, port=port, password=password, db=db, socket_timeout=10, socket_connect_timeout=5)
        return client, '%s:%s db %s' % (host, port, db)
    if '://' in url:
        parsed = urllib.parse.urlparse(url)
        host, port = parsed.hostname, parsed.port or 6379
        password = urllib.parse.unquote(parsed.password) if parsed.password else None
        username = urllib.parse.unquote(parsed.username) if parsed.username else None
        db = int((parsed.path or '/0').lstrip('/') or 0)
    else:
        fields = url.split(',')
        host, _sep, port = fields[0].partition(':')
        port = int(port or 6379)
        password = fields[2] if len(fields) > 2 and fields[2] else None
        username = None
        db = int(fields[3]) if len(fields) > 3 and fields[3] else 0
    client = redis.Redis(host=host, port=port, username=username, password=password, db=db,
                         socket_timeout=10, socket_connect_timeout=5)
    return client, '%s:%s db %s' % (host, port, db)


def wait_for(component, what, func, timeout):
    deadline = time.time() + timeout
    while True:
        try:
            return func()
        except Exception as exc:  # pylint: disable=broad-except
            if time.time() > deadline:
                raise RuntimeError('%s: %s' % (what, exc)) from exc
            log(component, 'waiting for %s: %s' % (what, exc))
            time.sleep(2)


class JSONHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    component = 'service'

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        log(self.component, '%s %s' % (self.address_string(), format % args))

    def send_json(self, status, body, content_type='application/json'):
        data = body if isinstance(body, bytes) else (json.dumps(body) if content_type == 'application/json' else body).encode()
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get('Content-Length', '0') or 0)
        return self.rfile.read(length) if length else b''

    def harbor_secret(self):
        auth = self.headers.get('Authorization', '').strip()
        return auth[len('Harbor-Secret'):].strip() if auth.startswith('Harbor-Secret') else ''


def serve(handler, port, component, banner):
    server = ThreadingHTTPServer(('0.0.0.0', int(port)), handler)
    log(component, '%s listening on :%s' % (banner, port))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


# ---------------------------------------------------------------------------------------------- jobservice
class Jobservice(object):
    def __init__(self, config, env, generation):
        self.env = env
        self.generation = generation
        pool = ((config.get('worker_pool') or {}).get('redis_pool') or {})
        self.namespace = pool.get('namespace') or JOB_NAMESPACE_DEFAULT
        url = pool.get('redis_url') or ''
        timeout = float(env.get('HARBOR_DOUBLE_CONNECT_TIMEOUT', '60'))
        if generation == 'v1':
            self.redis, where = self._v1_redis(pool, url, timeout)
        else:
            if not url:
                raise RuntimeError('worker_pool.redis_pool.redis_url is not set in the jobservice config')
            self.redis, where = redis_from_url(url)
            wait_for('jobservice', 'the Redis job queue at %s' % where, self.redis.ping, timeout)
        log('jobservice', 'connected to the Redis job queue at %s (namespace %s)' % (where, self.namespace))
        self.queue = '{%s}:double:jobs' % self.namespace
        self.results = '{%s}:double:job_results' % self.namespace
        self.started = time.time()

    def _v1_redis(self, pool, url, timeout):
        """Harbor 1.5.4: JOB_SERVICE_POOL_REDIS_URL overrides the file; a configuration Load/validate refuses
        stops it at once, a dial error is retried (10 pings) and then stops it; restart: always starts it again."""
        url = self.env.get('JOB_SERVICE_POOL_REDIS_URL') or url
        try:
            url = v1_jobservice_redis_url(url)
            if not pool.get('namespace') and not self.env.get('JOB_SERVICE_POOL_REDIS_NAMESPACE'):
                raise ValueError('namespace of redis pool is required')
        except ValueError as exc:
            raise RuntimeError('Failed to load configurations with error: %s' % exc) from None
        client, where = redis_from_url(url, 'v1')
        try:
            wait_for('jobservice', 'the Redis job queue at %s' % where, client.ping, timeout)
        except RuntimeError as exc:
            raise RuntimeError('Failed to load and run worker pool: connect to redis server timeout: %s'
                               % (exc.__cause__ or exc)) from None
        return client, where

    def key_ok(self, secret):
        expected = self.env.get('CORE_SECRET' if self.generation == 'v2' else 'UI_SECRET', '')
        return bool(secret) and secrets.compare_digest(secret, expected)

    def enqueue(self, job):
        job_id = secrets.token_hex(12)
        record = {'id': job_id, 'name': job.get('name', 'DOUBLE_NOOP'), 'parameters': job.get('parameters', {}),
                  'enqueued_by': os.uname().nodename, 'secret': self.env.get('JOBSERVICE_SECRET', ''),
                  'enqueued_at': int(time.time())}
        self.redis.hset(self.results, job_id, json.dumps({'id': job_id, 'status': 'Pending'}))
        self.redis.lpush(self.queue, json.dumps(record))
        return job_id

    def worker(self):
        mine = self.env.get('JOBSERVICE_SECRET', '')
        while True:
            try:
                item = self.redis.brpop(self.queue, timeout=5)
                if not item:
                    continue
                job = json.loads(item[1])
                ok = secrets.compare_digest(job.get('secret', ''), mine)
                status = {'id': job['id'], 'name': job['name'], 'run_by': os.uname().nodename,
                          'enqueued_by': job.get('enqueued_by'), 'status': 'Success' if ok else 'Error'}
                if not ok:
                    status['error'] = 'job secret does not match this jobservice (JOBSERVICE_SECRET differs between nodes)'
                self.redis.hset(self.results, job['id'], json.dumps(status))
                log('jobservice', 'job %s (%s) -> %s' % (job['id'], job['name'], status['status']))
            except Exception as exc:  # pylint: disable=broad-except
                log('jobservice', 'worker: %s' % exc)
                time.sleep(2)


def run_jobservice(args):
    config = load_yaml(args.config)
    env = dict(os.environ)
    try:
        service = Jobservice(config, env, args.generation)
    except Exception as exc:  # pylint: disable=broad-except
        log('jobservice', 'FATAL: %s' % exc)
        return 1
    threading.Thread(target=service.worker, daemon=True).start()

    class Handler(JSONHandler):
        component = 'jobservice'

        def do_GET(self):  # pylint: disable=invalid-name
            path = urllib.parse.urlparse(self.path).path
            if path == '/api/v1/stats':
                try:
                    service.redis.ping()
                    health = 'healthy'
                except Exception as exc:  # pylint: disable=broad-except
                    health = 'unhealthy: %s' % exc
                return self.send_json(200 if health == 'healthy' else 503, {
                    'workers': [{'host': os.uname().nodename, 'worker_pool_id': 'double', 'status': health,
                                 'started_at': int(service.started)}]})
            if path.startswith('/api/v1/jobs/'):
                if not service.key_ok(self.harbor_secret()):
                    return self.send_json(401, {'code': 401, 'message': 'unauthorized'})
                raw = service.redis.hget(service.results, path.rsplit('/', 1)[1])
                return self.send_json(200, json.loads(raw)) if raw else self.send_json(404, {'message': 'job not found'})
            return self.send_json(404, {'message': 'no route for %s in the jobservice double' % path})

        def do_POST(self):  # pylint: disable=invalid-name
            path = urllib.parse.urlparse(self.path).path
            data = self.body()
            if path != '/api/v1/jobs':
                return self.send_json(404, {'message': 'no route for %s' % path})
            if not service.key_ok(self.harbor_secret()):
                return self.send_json(401, {'code': 401, 'message': 'unauthorized'})
            try:
                job = json.loads(data or b'{}').get('job', {})
            except ValueError:
                return self.send_json(400, {'message': 'bad job request'})
            job_id = service.enqueue(job)
            return self.send_json(202, {'job': {'id': job_id, 'status': 'Pending', 'name': job.get('name', 'DOUBLE_NOOP')}})

    return serve(Handler, config.get('port', 8080), 'jobservice', 'jobservice double (%s)' % args.generation)


# --------------------------------------------------------------------------------------------- registryctl
def run_registryctl(args):
    config = load_yaml(args.config)
    registry_config = config.get('registry_config', '/etc/registry/config.yml')
    if not os.path.isfile(registry_config):
        log('registryctl', 'FATAL: registry config %s is missing' % registry_config)
        return 1
    load_yaml(registry_config)
    secrets_ok = {v for v in (os.environ.get('CORE_SECRET'), os.environ.get('JOBSERVICE_SECRET')) if v}

    class Handler(JSONHandler):
        component = 'registryctl'

        def do_GET(self):  # pylint: disable=invalid-name
            path = urllib.parse.urlparse(self.path).path
            if path == '/api/health':
                return self.send_json(200, {'status': 'healthy'})
            if path.startswith('/api/registry/'):
                if self.harbor_secret() not in secrets_ok:
                    return self.send_json(401, {'message': 'unauthorized'})
                return self.send_json(200, {})
            return self.send_json(404, {'message': 'no route for %s in the registryctl double' % path})

    return serve(Handler, config.get('port', 8080), 'registryctl', 'registryctl double')


# --------------------------------------------------------------------------------------------- adminserver
ENV_KEYS = {  # adminserver env -> configuration key (Harbor 1.5 names)
    'EXT_ENDPOINT': 'ext_endpoint', 'AUTH_MODE': 'auth_mode', 'SELF_REGISTRATION': 'self_registration',
    'DATABASE_TYPE': 'database_type', 'MYSQL_HOST': 'mysql_host', 'MYSQL_PORT': 'mysql_port',
    'MYSQL_USR': 'mysql_username', 'MYSQL_PWD': 'mysql_password', 'MYSQL_DATABASE': 'mysql_database',
    'LDAP_URL': 'ldap_url', 'LDAP_SEARCH_DN': 'ldap_search_dn', 'LDAP_SEARCH_PWD': 'ldap_search_password',
    'LDAP_BASE_DN': 'ldap_base_dn', 'LDAP_UID': 'ldap_uid', 'LDAP_SCOPE': 'ldap_scope',
    'EMAIL_HOST': 'email_host', 'EMAIL_PORT': 'email_port', 'EMAIL_USR': 'email_username', 'EMAIL_PWD': 'email_password',
    'EMAIL_FROM': 'email_from', 'REGISTRY_URL': 'registry_url', 'TOKEN_EXPIRATION': 'token_expiration',
    'CFG_EXPIRATION': 'cfg_expiration', 'MAX_JOB_WORKERS': 'max_job_workers',
    'PROJECT_CREATION_RESTRICTION': 'project_creation_restriction', 'HARBOR_ADMIN_PASSWORD': 'admin_initial_password',
    'ADMIRAL_URL': 'admiral_url', 'WITH_NOTARY': 'with_notary', 'WITH_CLAIR': 'with_clair',
    'CLAIR_DB_PASSWORD': 'clair_db_password', 'UAA_CLIENTSECRET': 'uaa_client_secret', 'UI_URL': 'ui_url',
    'JOBSERVICE_URL': 'jobservice_url', 'TOKEN_SERVICE_URL': 'token_service_url',
    'REGISTRY_STORAGE_PROVIDER_NAME': 'registry_storage_provider_name', 'READ_ONLY': 'read_only', 'RELOAD_KEY': 'reload_key',
}
# Loaded from the env on EVERY start (Harbor 1.5 "repeatLoadEnvs"); the rest only on first start or RESET.
REPEAT_KEYS = {'ext_endpoint', 'mysql_password', 'mysql_host', 'mysql_username', 'mysql_database', 'mysql_port',
               'max_job_workers', 'cfg_expiration', 'admiral_url', 'with_notary', 'with_clair', 'clair_db_password',
               'uaa_client_secret', 'registry_storage_provider_name', 'ui_url', 'jobservice_url', 'registry_url',
               'token_service_url'}
ENCRYPTED = {'email_password', 'ldap_search_password', 'mysql_password', 'admin_initial_password', 'clair_db_password',
             'uaa_client_secret'}
INT_KEYS = {'mysql_port', 'email_port', 'ldap_scope', 'token_expiration', 'cfg_expiration', 'max_job_workers'}
BOOL_KEYS = {'self_registration', 'with_notary', 'with_clair', 'read_only'}


def aes_encrypt(text, key):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # pylint: disable=import-outside-toplevel
    iv = os.urandom(16)
    enc = Cipher(algorithms.AES(key.encode()), modes.CFB(iv)).encryptor()
    return '<enc-v1>' + base64.b64encode(iv + enc.update(text.encode()) + enc.finalize()).decode()


def aes_decrypt(text, key):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # pylint: disable=import-outside-toplevel
    if not text.startswith('<enc-v1>'):
        return base64.b64decode(text).decode()
    raw = base64.b64decode(text[len('<enc-v1>'):])
    dec = Cipher(algorithms.AES(key.encode()), modes.CFB(raw[:16])).decryptor()
    return (dec.update(raw[16:]) + dec.finalize()).decode('utf-8')  # a wrong key gives garbage: UnicodeDecodeError


def typed(key, value):
    if key in INT_KEYS:
        return int(value) if str(value).strip() else 0
    if key in BOOL_KEYS:
        return str(value).lower() in ('true', 'on', '1')
    return value


class Adminserver(object):
    def __init__(self, env):
        import pymysql  # pylint: disable=import-outside-toplevel
        self.env = env
        key_path = env.get('KEY_PATH', '/etc/adminserver/key')
        with open(key_path) as handle:
            self.key = handle.read()
        if len(self.key) not in (16, 24, 32):
            raise RuntimeError('%s must hold a 16, 24 or 32 byte key (found %d)' % (key_path, len(self.key)))
        settings = dict(host=env.get('MYSQL_HOST'), port=int(env.get('MYSQL_PORT') or 3306), user=env.get('MYSQL_USR'),
                        password=env.get('MYSQL_PWD'), database=env.get('MYSQL_DATABASE') or 'registry',
                        connect_timeout=5, autocommit=True)
        self.db = wait_for('adminserver', 'MySQL at %s:%s' % (settings['host'], settings['port']),
                           lambda: pymysql.connect(**settings), float(env.get('HARBOR_DOUBLE_CONNECT_TIMEOUT', '60')))
        log('adminserver', 'connected to the external MySQL at %s:%s database %s as %s'
            % (settings['host'], settings['port'], settings['database'], settings['user']))
        self.lock = threading.Lock()
        try:
            stored = self.read()
        except Exception as exc:  # pylint: disable=broad-except
            raise RuntimeError('cannot read the properties table (load registry.sql first): %s' % exc)
        load_all = not stored or (env.get('RESET', '').lower() == 'true' and env.get('RELOAD_KEY', '') != stored.get('reload_key'))
        for name, key in ENV_KEYS.items():
            if name in env and (load_all or key in REPEAT_KEYS or key not in stored):
                stored[key] = typed(key, env[name])
        self.write(stored)
        how = 'loaded from the env' if load_all else 'kept, repeat keys reloaded'
        log('adminserver', 'configuration %s (%d keys)' % (how, len(stored)))

    def read(self):
        with self.lock:
            self.db.ping(reconnect=True)
            with self.db.cursor() as cur:
                cur.execute('SELECT k, v FROM properties')
                rows = cur.fetchall()
        result = {}
        for key, value in rows:
            if key in ENCRYPTED and value:
                try:
                    value = aes_decrypt(value, self.key)
                except Exception as exc:  # pylint: disable=broad-except
                    raise RuntimeError('failed to decrypt %s with /etc/adminserver/key (secretkey differs from the one that '
                                       'encrypted it?): %s' % (key, exc))
            result[key] = typed(key, value)
        return result

    def write(self, cfg):
        with self.lock:
            self.db.ping(reconnect=True)
            with self.db.cursor() as cur:
                for key, value in cfg.items():
                    text = str(value).lower() if isinstance(value, bool) else str(value)
                    if key in ENCRYPTED and text:
                        text = aes_encrypt(text, self.key)
                    cur.execute('INSERT INTO properties (k, v) VALUES (%s, %s) ON DUPLICATE KEY UPDATE v = VALUES(v)', (key, text))


def run_adminserver(_args):
    env = dict(os.environ)
    try:
        admin = Adminserver(env)
    except Exception as exc:  # pylint: disable=broad-except
        log('adminserver', 'FATAL: failed to initialize the system: %s' % exc)
        return 1
    allowed = {v for v in (env.get('UI_SECRET'), env.get('JOBSERVICE_SECRET')) if v}

    class Handler(JSONHandler):
        component = 'adminserver'

        def authorized(self):
            return not allowed or self.harbor_secret() in allowed

        def do_GET(self):  # pylint: disable=invalid-name
            path = urllib.parse.urlparse(self.path).path
            if path == '/api/ping':
                return self.send_json(200, 'Pong', 'text/plain; charset=utf-8')
            if not self.authorized():
                return self.send_json(401, {'message': 'unauthorized'})
            if path == '/api/configurations':
                try:
                    return self.send_json(200, admin.read())
                except Exception as exc:  # pylint: disable=broad-except
                    return self.send_json(500, {'message': str(exc)})
            if path == '/api/systeminfo/capacity':
                stat = os.statvfs('/data')
                return self.send_json(200, {'total': stat.f_blocks * stat.f_frsize, 'free': stat.f_bavail * stat.f_frsize})
            return self.send_json(404, {'message': 'no route for %s' % path})

        def do_PUT(self):  # pylint: disable=invalid-name
            data = self.body()
            if not self.authorized():
                return self.send_json(401, {'message': 'unauthorized'})
            cfg = admin.read()
            cfg.update(json.loads(data or b'{}'))
            admin.write(cfg)
            return self.send_json(200, {})

        def do_POST(self):  # pylint: disable=invalid-name
            self.body()
            if not self.authorized():
                return self.send_json(401, {'message': 'unauthorized'})
            if urllib.parse.urlparse(self.path).path == '/api/configurations/reset':
                cfg = admin.read()
                cfg.update({k: typed(k, env[n]) for n, k in ENV_KEYS.items() if n in env})
                admin.write(cfg)
                return self.send_json(200, {})
            return self.send_json(404, {'message': 'no route'})

    return serve(Handler, env.get('PORT', '80'), 'adminserver', 'adminserver double (1.x)')


def main(argv=None):
    parser = argparse.ArgumentParser(description='Harbor service doubles for the registryops.harbor_ha lab')
    sub = parser.add_subparsers(dest='service', required=True)
    job = sub.add_parser('jobservice')
    job.add_argument('-c', dest='config', default='/etc/jobservice/config.yml')
    job.add_argument('--generation', choices=['v1', 'v2'], default='v2')
    ctl = sub.add_parser('registryctl')
    ctl.add_argument('-c', dest='config', default='/etc/registryctl/config.yml')
    sub.add_parser('adminserver')
    args = parser.parse_args(argv)
    return {'jobservice': run_jobservice, 'registryctl': run_registryctl, 'adminserver': run_adminserver}[args.service](args)


def _stop_on_sigterm(_signum, _frame):
    # PID 1 of a container gets no default action for SIGTERM: without a handler `docker stop` waits 10 s
    # and kills (Harbor's Go services exit on SIGTERM; so does the double).
    raise KeyboardInterrupt


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main())
