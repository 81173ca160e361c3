# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Harbor 2.x ``prepare`` DOUBLE (runs inside harbor-double/prepare:v<version>).

Test code for the registryops.harbor_ha lab, not Harbor. It behaves like goharbor/prepare where the
collection depends on it (see tests/harbor_double/LAYOUT.md):

* reads ``/input/harbor.yml``; the host script mounts the data volume at ``/data``, the installer
  directory at ``/compose_location``, ``common/config`` at ``/config`` and ``/`` at ``/hostfs``;
* deletes every FILE under ``/config`` (directories stay, like Harbor's ``delfile``) and writes
  ``common/config/{core,jobservice,registryctl,registry,nginx,log,portal,db,shared}`` again;
* makes NEW random ``CORE_SECRET``, ``JOBSERVICE_SECRET``, ``CSRF_KEY``, ``REGISTRY_CREDENTIAL_PASSWORD``
  (+ ``registry/passwd``) and ``ROBOT_SCANNER_NAME_PREFIX`` on EVERY run;
* keeps ``/data/secret/keys/secretkey`` (else makes a 16-char one); keeps the token pair only when BOTH
  ``/data/secret/core/private_key.pem`` and ``/data/secret/registry/root.crt`` exist, else makes a new
  RSA 4096 PKCS#1 key + self-signed certificate with openssl, like ``prepare_registry_ca``;
* copies the TLS certificate/key to ``/data/secret/cert/server.{crt,key}``; chowns to 10000:10000;
* writes ``/compose_location/docker-compose.yml`` (postgresql/redis services only without
  external_database/external_redis).

Like Harbor 2.x, the registry config carries ``auth.htpasswd`` (realm ``harbor-registry-basic-realm``,
``/etc/registry/passwd``) and nginx routes ``/v2/`` to core, which checks the client's token and proxies
to the registry with ``REGISTRY_CREDENTIAL_USERNAME``/``REGISTRY_CREDENTIAL_PASSWORD`` from core/env.
Double-only: no internal TLS, Trivy, metrics or trace settings (refused or ignored).
"""

import os
import re
import secrets
import shutil
import string
import subprocess
import sys
from urllib.parse import quote, urlencode

import yaml
from jinja2 import Environment, FileSystemLoader

APP = os.path.dirname(os.path.abspath(__file__))
CONFIG = '/config'
DATA = '/data'
HOSTFS = '/hostfs'
INPUT = '/input/harbor.yml'
COMPOSE = '/compose_location/docker-compose.yml'
UID = GID = 10000
PG_UID = REDIS_UID = 999
REGISTRY_USER = 'harbor_registry_user'
NAMESPACE = os.environ.get('HARBOR_DOUBLE_NAMESPACE', 'harbor-double')
VERSION = os.environ.get('HARBOR_DOUBLE_VERSION', 'dev')
# Harbor's templates carry the minor release: harbor.yml `_version: 2.14.0` in 2.14.x, `migrate -t` defaults to it
_MINOR = re.match(r'^v?(\d+)\.(\d+)\.', VERSION)
RELEASE_MINOR = (int(_MINOR.group(1)), int(_MINOR.group(2))) if _MINOR else (2, 15)
LEVELS = {'debug': 'debug', 'info': 'info', 'warning': 'warn', 'error': 'error', 'fatal': 'fatal'}
NO_PROXY = {'127.0.0.1', 'localhost', '.local', '.internal', 'log', 'db', 'redis', 'nginx', 'core', 'portal',
            'postgresql', 'jobservice', 'registry', 'registryctl', 'trivy-adapter', 'exporter'}

ENV = Environment(loader=FileSystemLoader(os.path.join(APP, 'templates')), trim_blocks=True, lstrip_blocks=True,
                  keep_trailing_newline=True)


def random_string(length):
    return ''.join(secrets.choice(string.ascii_letters + string.digits) for dummy in range(length))


def mark(path, mode=0o600, uid=UID, gid=GID):
    if mode > 0:
        os.chmod(path, mode)
    if uid > 0 and gid > 0:
        os.chown(path, uid, gid)


def render(template, dest, mode=0o640, uid=0, gid=0, **values):
    with open(dest, 'w') as handle:
        handle.write(ENV.get_template(template).render(**values))
    mark(dest, mode, uid, gid)
    print('Generated configuration file: %s' % dest.replace(CONFIG, '/config'))


def prepare_dir(path, uid=None, gid=None, mode=0o755):
    if os.path.isfile(path):
        raise Exception('Path exists and the type is regular file: %s' % path)
    if not os.path.isdir(path):
        os.makedirs(path, mode=mode)
    os.chmod(path, mode)
    if uid is not None:
        stat = os.stat(path)
        if (stat.st_uid, stat.st_gid) != (uid, gid):
            for root, dirs, files in os.walk(path):
                os.chown(root, uid, gid)
                for name in dirs + files:
                    os.chown(os.path.join(root, name), uid, gid)
    return path


def delfile(path):
    """Remove every file below path, keep the directories (what Harbor's prepare does to /config)."""
    if os.path.isfile(path) or os.path.islink(path):
        os.remove(path)
        print('Clearing the configuration file: %s' % path)
    elif os.path.isdir(path):
        for name in os.listdir(path):
            delfile(os.path.join(path, name))


def hostpath(path):
    return os.path.join(HOSTFS, path.lstrip('/')) if os.path.isdir(HOSTFS) else path


def redis_url(db, redis):
    password = quote(str(redis.get('password') or ''), safe='')
    scheme = 'rediss' if (redis.get('tlsOptions') or {}).get('enable') else 'redis'
    if redis.get('sentinel_master_set'):
        scheme += '+sentinel'
    url = '%s://%s%s%s%s%s' % (scheme, redis.get('username') or '', (':%s@' % password) if password else '',
                               redis['host'], ('/' + redis['sentinel_master_set']) if redis.get('sentinel_master_set') else '',
                               ('/%s' % db) if db else '')
    if 'idle_timeout_seconds' in redis:
        url += '?' + urlencode({'idle_timeout_seconds': redis['idle_timeout_seconds']})
    return url


def parse(conf):
    c = {}
    hostname = conf['hostname']
    if hostname == '127.0.0.1':
        raise Exception('127.0.0.1 can not be the hostname')
    if hostname == 'reg.mydomain.com':
        raise Exception('Please specify hostname')
    c['hostname'] = hostname
    c['protocol'] = 'http'
    c['http_port'] = (conf.get('http') or {}).get('port', 80)
    https = conf.get('https')
    if https:
        c['protocol'] = 'https'
        c['https_port'] = https.get('port', 443)
        c['cert_path'] = https.get('certificate')
        c['cert_key_path'] = https.get('private_key')
        if not c['cert_path'] or c['cert_path'] == '/your/certificate/path':
            raise Exception('Error: The protocol is https but attribute ssl_cert is not set')
        if not c['cert_key_path'] or c['cert_key_path'] == '/your/private/key/path':
            raise Exception('Error: The protocol is https but attribute ssl_cert_key is not set')
        c['strong_ssl_ciphers'] = bool(https.get('strong_ssl_ciphers'))
        c['https_redirect'] = '$host:%s' % c['https_port']
    if conf.get('external_url'):
        c['public_url'] = conf['external_url']
    else:
        port = c['https_port'] if https else c['http_port']
        default = 443 if https else 80
        c['public_url'] = '%s://%s%s' % (c['protocol'], hostname, '' if port == default else ':%s' % port)
    c['data_volume'] = conf['data_volume']
    c['harbor_admin_password'] = conf['harbor_admin_password']

    database = conf.get('database') or {}
    c['db'] = dict(host='postgresql', port=5432, name='registry', username='postgres', password=database.get('password') or '',
                   sslmode='disable', max_idle_conns=database.get('max_idle_conns') or 2,
                   max_open_conns=database.get('max_open_conns') or 0,
                   conn_max_lifetime=database.get('conn_max_lifetime') or '5m',
                   conn_max_idle_time=database.get('conn_max_idle_time') or '0')
    external_db = (conf.get('external_database') or {}).get('harbor')
    c['external_database'] = bool(conf.get('external_database'))
    if external_db:
        c['db'] = dict(host=external_db['host'], port=external_db['port'], name=external_db['db_name'],
                       username=external_db['username'], password=external_db['password'], sslmode=external_db['ssl_mode'],
                       max_idle_conns=external_db.get('max_idle_conns') or 2, max_open_conns=external_db.get('max_open_conns') or 0,
                       conn_max_lifetime=external_db.get('conn_max_lifetime') or '5m',
                       conn_max_idle_time=external_db.get('conn_max_idle_time') or '0')

    storage = conf.get('storage_service') or {}
    c['storage_provider_name'], c['storage_provider_config'] = 'filesystem', {}
    for name in ('filesystem', 'azure', 'gcs', 's3', 'swift', 'oss'):
        if storage.get(name):
            c['storage_provider_name'], c['storage_provider_config'] = name, dict(storage[name])
            break
    c['storage_redirect_disabled'] = (storage.get('redirect') or {}).get('disable', False)
    provider = dict(c['storage_provider_config'])
    if c['storage_provider_name'] == 'filesystem' and 'rootdirectory' not in provider:
        provider['rootdirectory'] = '/storage'
    lines = [c['storage_provider_name'] + ':']
    lines += ['%s: %s' % (k, '' if v is None else ('true' if v is True else v)) for k, v in provider.items()]
    c['storage_provider_info'] = ('\n' + ' ' * 4).join(lines)

    proxy = conf.get('proxy') or {}
    no_proxy = set(NO_PROXY) | set(filter(None, (proxy.get('no_proxy') or '').split(',')))
    c['proxy'] = {}
    for component in ('core', 'jobservice', 'trivy'):
        on = component in (proxy.get('components') or [])
        c['proxy'][component] = dict(http=(proxy.get('http_proxy') or '') if on else '',
                                     https=(proxy.get('https_proxy') or '') if on else '',
                                     no=','.join(sorted(no_proxy)) if on else '')

    jobservice = conf.get('jobservice') or {}
    c['max_job_workers'] = jobservice['max_job_workers']
    hours = jobservice.get('max_job_duration_hours') or 24
    c['max_job_duration_hours'] = hours if isinstance(hours, int) and hours >= 24 else 24
    c['job_loggers'] = jobservice['job_loggers']
    c['logger_sweeper_duration'] = jobservice['logger_sweeper_duration']
    notification = conf.get('notification') or {}
    c['webhook_job_max_retry'] = notification['webhook_job_max_retry']
    c['webhook_job_http_client_timeout'] = notification['webhook_job_http_client_timeout']

    log = conf.get('log') or {}
    if log['level'] not in LEVELS:
        raise Exception('log level must be one of debug, info, warning, error, fatal')
    c['log_level'] = log['level'].lower()
    c['registry_level'] = LEVELS[c['log_level']]
    c['level_upper'] = c['log_level'].upper()
    local = log.get('local') or {}
    c['log_location'] = local.get('location') or '/var/log/harbor'
    c['log_rotate_count'] = local.get('rotate_count') or 50
    c['log_rotate_size'] = local.get('rotate_size') or '200M'
    external_log = log.get('external_endpoint')
    c['log_external'] = bool(external_log)
    if external_log:
        c['log_ep_protocol'] = external_log['protocol']
        c['log_ep_host'] = external_log['host']
        c['log_ep_port'] = external_log['port']

    internal_redis, external_redis = conf.get('redis') or {}, conf.get('external_redis') or {}
    c['external_redis'] = bool(external_redis)
    redis = {'host': 'redis:6379', 'password': '', 'registry_db_index': 1, 'jobservice_db_index': 2, 'trivy_db_index': 5,
             'idle_timeout_seconds': 30}
    redis.update({k: v for k, v in (internal_redis or external_redis).items() if v})
    c['redis_url_core'] = redis_url(0, redis)
    c['redis_url_js'] = redis_url(redis['jobservice_db_index'], redis)
    c['redis_url_reg'] = redis_url(redis['registry_db_index'], redis)
    c['redis_url_harbor'] = redis_url(redis['harbor_db_index'], redis) if redis.get('harbor_db_index') else ''
    c['redis_url_cache_layer'] = redis_url(redis['cache_layer_db_index'], redis) if redis.get('cache_layer_db_index') else ''
    c['reg_redis'] = dict(host=redis['host'], password=redis.get('password') or '', db=redis['registry_db_index'])

    c['purge_upload'] = conf.get('upload_purging') or {'enabled': False}
    c['cache'] = conf.get('cache') or {'enabled': False, 'expire_hours': 24}
    c['quota_update_provider'] = (conf.get('core') or {}).get('quota_update_provider')
    c['uaa_ca_file'] = (conf.get('uaa') or {}).get('ca_file')
    if (conf.get('internal_tls') or {}).get('enabled'):
        raise Exception('internal_tls is not supported by the Harbor installer double')
    if (conf.get('metric') or {}).get('enabled'):
        print('WARNING: metric.enabled is ignored by the Harbor installer double (no exporter image)')
    c['urls'] = dict(portal='http://portal:8080', registry='http://registry:5000', registry_controller='http://registryctl:8080',
                     core='http://core:8080', core_local='http://127.0.0.1:8080', token_service='http://core:8080/service/token',
                     jobservice='http://jobservice:8080', trivy_adapter='http://trivy-adapter:8080')
    # New random values on EVERY run, like Harbor's prepare (no harbor.yml option keeps them).
    c['core_secret'] = random_string(16)
    c['jobservice_secret'] = random_string(16)
    c['registry_username'] = REGISTRY_USER
    c['registry_password'] = random_string(32)
    c['csrf_key'] = random_string(32)
    c['scan_robot_prefix'] = random_string(8)
    c['with_trivy'] = False
    return c


def get_secret_key():
    folder = os.path.join(DATA, 'secret', 'keys')
    path = os.path.join(folder, 'secretkey')
    if os.path.isfile(path):
        with open(path) as handle:
            key = handle.read()
        print('loaded secret from file: %s' % path)
    else:
        os.makedirs(folder, exist_ok=True)
        key = random_string(16)
        with open(path, 'w') as handle:
            handle.write(key)
        print('Generated and saved secret to file: %s' % path)
    mark(path)
    if len(key) != 16:
        raise Exception("secret key's length has to be 16 chars, current length: %d" % len(key))


def prepare_registry_ca():
    key = os.path.join(DATA, 'secret', 'core', 'private_key.pem')
    crt = os.path.join(DATA, 'secret', 'registry', 'root.crt')
    if not (os.path.exists(key) and os.path.exists(crt)):
        os.makedirs(os.path.dirname(key), exist_ok=True)
        os.makedirs(os.path.dirname(crt), exist_ok=True)
        quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        rc = subprocess.call(['openssl', 'genrsa', '-traditional', '-out', key, '4096'], **quiet)
        if rc == 0:
            rc = subprocess.call(['openssl', 'req', '-new', '-x509', '-key', key, '-out', crt, '-days', '3650', '-subj', '/'], **quiet)
        if rc != 0:
            print('Failed to call func: create_root_cert')
            sys.exit(1)
        print('Successfully called func: create_root_cert')
        mark(key)
        mark(crt)
    for path in (crt, key):
        stat = os.stat(path)
        if (stat.st_uid, stat.st_gid) != (UID, GID):
            os.chown(path, UID, GID)


def prepare_nginx(c):
    prepare_dir(os.path.join(CONFIG, 'nginx', 'conf.d'), UID, GID)
    conf = os.path.join(CONFIG, 'nginx', 'nginx.conf')
    if c['protocol'] == 'https':
        cert_dir = os.path.join(DATA, 'secret', 'cert')
        if os.path.isdir(cert_dir):
            shutil.rmtree(cert_dir)
        os.makedirs(cert_dir, mode=0o755)
        shutil.copy2(hostpath(c['cert_key_path']), os.path.join(cert_dir, 'server.key'))
        shutil.copy2(hostpath(c['cert_path']), os.path.join(cert_dir, 'server.crt'))
        os.chown(cert_dir, UID, GID)
        mark(os.path.join(cert_dir, 'server.key'))
        mark(os.path.join(cert_dir, 'server.crt'))
        render('nginx/nginx.https.conf.j2', conf, uid=UID, gid=GID, **c)
    else:
        render('nginx/nginx.http.conf.j2', conf, uid=UID, gid=GID, **c)


def prepare(conf_path, with_trivy):
    if with_trivy:
        print('Error happened in config validation...\nERROR: --with-trivy is not supported by the Harbor installer double')
        return 1
    delfile(CONFIG)
    with open(conf_path) as handle:
        conf = yaml.safe_load(handle)
    try:
        c = parse(conf)
    except Exception as exc:  # pylint: disable=broad-except
        print('Error happened in config validation...')
        print('ERROR: %s' % exc)
        return 255
    if c['protocol'] == 'http':
        print('WARNING: HTTP protocol is insecure. Harbor will deprecate http protocol in the future. Please make sure to upgrade to https')

    def cfg(*parts):
        return os.path.join(CONFIG, *parts)

    # portal, log, nginx
    prepare_dir(cfg('portal'), UID, GID)
    render('portal/nginx.conf.j2', cfg('portal', 'nginx.conf'), uid=UID, gid=GID, **c)
    prepare_dir(cfg('log'))
    render('log/logrotate.conf.j2', cfg('log', 'logrotate.conf'), uid=UID, gid=GID, **c)
    render('log/rsyslog_docker.conf.j2', cfg('log', 'rsyslog_docker.conf'), uid=UID, gid=GID, **c)
    prepare_nginx(c)
    # core
    prepare_dir(os.path.join(DATA, 'ca_download'), UID, GID)
    prepare_dir(cfg('core', 'certificates'))
    # Harbor 2.14's core/env has SYNC_QUOTA=true (after _REDIS_URL_HARBOR); 2.15.0 dropped it
    render('core/env.j2', cfg('core', 'env'), sync_quota=RELEASE_MINOR < (2, 15), **c)
    render('core/app.conf.j2', cfg('core', 'app.conf'), uid=UID, gid=GID, **c)
    # registry (+ htpasswd file of the registry credential, bcrypt like Harbor's htpasswd -bcB)
    prepare_dir(os.path.join(DATA, 'registry'), UID, GID)
    prepare_dir(cfg('registry'))
    subprocess.call(['htpasswd', '-bcB', cfg('registry', 'passwd'), c['registry_username'], c['registry_password']],
                    stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    render('registry/config.yml.j2', cfg('registry', 'config.yml'), uid=UID, gid=GID, **c)
    # registryctl, db, jobservice, redis
    prepare_dir(cfg('registryctl'))
    render('registryctl/env.j2', cfg('registryctl', 'env'), **c)
    render('registryctl/config.yml.j2', cfg('registryctl', 'config.yml'), uid=UID, gid=GID, **c)
    prepare_dir(os.path.join(DATA, 'database'), PG_UID, PG_UID, mode=0o700)
    prepare_dir(cfg('db'))
    render('db/env.j2', cfg('db', 'env'), **c)
    prepare_dir(cfg('jobservice'), UID, GID)
    prepare_dir(os.path.join(DATA, 'job_logs'), UID, GID)
    render('jobservice/env.j2', cfg('jobservice', 'env'), **c)
    render('jobservice/config.yml.j2', cfg('jobservice', 'config.yml'), uid=UID, gid=GID, **c)
    prepare_dir(os.path.join(DATA, 'redis'), REDIS_UID, REDIS_UID)
    # shared trust store (recreated every run)
    shared = cfg('shared', 'trust-certificates')
    if os.path.exists(shared):
        shutil.rmtree(shared)
    os.makedirs(shared)
    ca_bundle = ((conf.get('storage_service') or {}).get('ca_bundle') or '')
    if ca_bundle and os.path.isfile(hostpath(ca_bundle)):
        shutil.copy2(hostpath(ca_bundle), os.path.join(shared, 'storage_ca_bundle.crt'))
        mark(os.path.join(shared, 'storage_ca_bundle.crt'), mode=0o644)
    get_secret_key()
    prepare_registry_ca()
    render('docker_compose/docker-compose.yml.j2', COMPOSE, mode=0o644, ns=NAMESPACE, version=VERSION, **c)
    with open(COMPOSE) as handle:
        lines = [line for line in handle if line.strip()]
    with open(COMPOSE, 'w') as handle:
        handle.writelines(lines)
    return 0


def migrate(args):
    """`migrate -i harbor.yml [-o out] [-t target]`: the double only rewrites `_version` (real prepare migrates keys)."""
    src = out = None
    target = '%d.%d.0' % RELEASE_MINOR
    it = iter(args)
    for arg in it:
        if arg in ('-i', '--input'):
            src = next(it)
        elif arg in ('-o', '--output'):
            out = next(it)
        elif arg in ('-t', '--target'):
            target = next(it)
    if not src:
        print('migrate: -i <harbor.yml> is required')
        return 2
    path = hostpath(src)
    with open(path) as handle:
        text = handle.read()
    lines = [('_version: %s' % target) if line.startswith('_version:') else line for line in text.splitlines()]
    with open(hostpath(out) if out else path, 'w') as handle:
        handle.write('\n'.join(lines) + '\n')
    print('migrated %s to _version %s (Harbor installer double: only the version marker changes)' % (src, target))
    return 0


def main(argv):
    if not argv or argv[0] in ('-h', '--help'):
        print('Usage: main.py prepare [--conf PATH] [--with-trivy] | migrate -i PATH [-o PATH] [-t VERSION]')
        return 0
    command, args = argv[0], argv[1:]
    if command == 'prepare':
        conf = INPUT
        if '--conf' in args:
            conf = args[args.index('--conf') + 1]
        return prepare(conf, '--with-trivy' in args)
    if command == 'migrate':
        return migrate(args)
    if command == 'gencert':
        print('gencert is not implemented by the Harbor installer double')
        return 2
    print('unknown command %s' % command)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
