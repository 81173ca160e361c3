#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
module: service_login
short_description: Log in to Redis, PostgreSQL, MySQL/MariaDB and Ceph as a client, without client libraries
version_added: 0.6.0
description:
  - Proves, from the host it runs on, that credentials work against the services Harbor uses, the way Harbor's own
    clients present them, and says exactly which step failed and why.
  - B(Redis) - C(AUTH) with the password (and user name for an ACL user), C(SELECT) of every database index
    given, C(PING). Tells a wrong password (C(WRONGPASS), C(invalid password)) from a missing one (C(NOAUTH)),
    a password the server does not expect, and an index the server does not have (C(DB index is out of range)).
  - B(PostgreSQL) - protocol 3.0 startup as the user, to the database; trust, cleartext, MD5 and SCRAM-SHA-256
    (without channel binding) authentication; optionally inside TLS. Reports the server's SQLSTATE, for example
    C(28P01) (wrong password or no such user), C(28000) (no C(pg_hba.conf) entry), C(3D000) (no such database).
  - B(MySQL / MariaDB) - protocol 10 handshake with C(mysql_native_password), following the server's
    C(AuthSwitchRequest). C(caching_sha2_password) works when the server has the account in its cache (fast path);
    a full C(caching_sha2_password) authentication (TLS or the server's RSA key) and other plugins
    (C(client_ed25519), C(sha256_password), PAM/cleartext) are reported as not supported by this probe
    (O(ignore) the result, C(cause=unsupported)). Reports the ERR packet's error number, for example C(1045)
    (access denied), C(1049) (unknown database), C(1130) (host not allowed).
  - B(Ceph) - runs the real C(ceph) CLI of the host as C(client.<name>) with a read-only command. The key is passed in
    the C(CEPH_ARGS) environment variable, so it appears neither on a command line nor in a file. A host without the
    C(ceph) CLI is reported as skipped with the reason.
  - Only the Python standard library is used (C(socket), C(ssl), C(hashlib), C(hmac)); nothing has to be installed on
    the host. The module only reads; it always returns C(changed=false).
author:
  - registryops maintainers (@registryops)
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode runs the same logins.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  idempotent:
    support: full
    description: Running it again makes the same read-only logins.
options:
  redis:
    description: Log in to Redis.
    type: dict
    suboptions:
      host: {description: Host name or address of Redis., type: str, required: true}
      port: {description: TCP port., type: int, default: 6379}
      password:
        description: Password for C(AUTH). Empty or unset sends no C(AUTH) (then a server that needs one answers C(NOAUTH)).
        type: str
      username: {description: ACL user name (Redis 6 and later); unset authenticates the default user., type: str}
      databases:
        description: Database indexes to C(SELECT), one after the other, on the authenticated connection.
        type: list
        elements: int
        default: [0]
  postgresql:
    description: Log in to PostgreSQL.
    type: dict
    suboptions:
      host: {description: Host name or address of the server., type: str, required: true}
      port: {description: TCP port., type: int, default: 5432}
      user: {description: The role to log in as., type: str, required: true}
      password: {description: Its password., type: str, required: true}
      database: {description: The database to connect to., type: str, required: true}
      ssl_mode:
        description:
          - V(disable) - plain TCP. V(prefer) - TLS when the server accepts it. V(require), V(verify-ca), V(verify-full) - TLS or fail.
          - The certificate is not verified in any mode; the probe proves the credential, not the server's certificate.
        type: str
        choices: [disable, prefer, require, verify-ca, verify-full]
        default: disable
  mysql:
    description: Log in to MySQL or MariaDB.
    type: dict
    suboptions:
      host: {description: Host name or address of the server., type: str, required: true}
      port: {description: TCP port., type: int, default: 3306}
      user: {description: The account to log in as., type: str, required: true}
      password: {description: Its password., type: str, required: true}
      database: {description: The database to select at login., type: str, required: true}
  ceph:
    description: Authenticate to the Ceph monitors with the C(ceph) CLI.
    type: dict
    suboptions:
      monitors: {description: Monitors as C(host:port) strings., type: list, elements: str, required: true}
      name: {description: The cephx id without C(client.)., type: str, required: true}
      key: {description: The base64 cephx key of C(client.<name>)., type: str, required: true}
      command:
        description:
          - A read-only command the client's caps allow, as a list of words. A command refused with C(EACCES)
            after the monitors accepted the key still proves the key.
        type: list
        elements: str
        default: [mon, stat]
      executable:
        description: The C(ceph) CLI, by name (looked up in C(PATH)) or path. Without it the check is skipped.
        type: str
        default: ceph
  tcp:
    description:
      - Addresses to reach with a TCP connect only, no login (a service whose credentials cannot be proven yet, a Ceph
        monitor on a host without the C(ceph) CLI). Probed concurrently with the logins.
    type: list
    elements: dict
    suboptions:
      host: {description: Host name or address., type: str, required: true}
      port: {description: TCP port., type: int, required: true}
      name: {description: "What listens there, for the message.", type: str}
  timeout:
    description: Seconds each connection and each answer may take (the Ceph command gets 20 s more in all).
    type: float
    default: 5
  fail_on_error:
    description:
      - Fail when a login fails, with every failed login's message. With V(false) the results are returned and the
        caller decides (the preflight role does, to name its own variables).
    type: bool
    default: true
  ignore:
    description:
      - Causes that do not count as a failure (for example V(unsupported) to accept a server whose authentication
        plugin this probe does not speak).
    type: list
    elements: str
    default: []
requirements:
  - Python 3.6 or later on the host the module runs on; the C(ceph) CLI (C(ceph-common)) for the Ceph check.
notes:
  - The logins run concurrently; each ends after O(timeout) seconds without an answer.
  - Every result carries C(cause), one word to act on - V(unreachable), V(timeout), V(protocol), V(tls),
    V(password), V(auth_required) (Redis wants a password, none was given), V(no_password_set) (Redis has none,
    one was given), V(access) (no C(pg_hba.conf) entry, host not allowed), V(database), V(db_index),
    V(permission), V(key) (cephx), V(unsupported), V(error).
  - Passwords and the key are never returned.
seealso:
  - module: registryops.harbor_ha.login_matrix
  - name: PostgreSQL message flow
    description: Startup and authentication as this module speaks it.
    link: https://www.postgresql.org/docs/current/protocol-flow.html
  - name: MySQL connection phase
    description: Handshake v10 and authentication as this module speaks it.
    link: https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_connection_phase.html
'''

EXAMPLES = r'''
- name: Prove the Harbor node's credentials before changing anything
  registryops.harbor_ha.service_login:
    redis:
      host: redis.example.com
      password: "{{ harbor_redis_password }}"
      databases: [0, 1, 2]
    postgresql:
      host: pg.example.com
      user: harbor
      password: "{{ harbor_database_password }}"
      database: registry
    ceph:
      monitors: ["10.0.0.1:6789", "10.0.0.2:6789"]
      name: harbor
      key: "{{ harbor_ceph_client_key }}"
  no_log: true

- name: Log in to Harbor 1.5's MariaDB and report instead of failing
  registryops.harbor_ha.service_login:
    mysql:
      host: mariadb.example.com
      user: harbor
      password: "{{ harbor_database_password }}"
      database: registry
    fail_on_error: false
  register: logins
  no_log: true

- name: Show what was refused (no secret in these fields)
  ansible.builtin.debug:
    msg: "{{ logins.mysql.msg }} (cause {{ logins.mysql.cause }}, error {{ logins.mysql.code }})"
'''

RETURN = r'''
redis:
  description: The Redis login, when O(redis) was given.
  returned: when O(redis) is given
  type: dict
  contains:
    ok:
      description: Whether every step succeeded.
      type: bool
    skipped:
      description: Always false for Redis.
      type: bool
    target:
      description: C(host:port).
      type: str
    step:
      description: The last step tried - C(connect), C(auth), C(select) or C(ping).
      type: str
    cause:
      description: Why it failed (see the notes); null when it succeeded.
      type: str
    code:
      description: The first word of the error reply (C(WRONGPASS), C(NOAUTH), C(ERR)), when there was one.
      type: str
    msg:
      description: What was tried and what the server answered.
      type: str
    databases:
      description: The indexes selected successfully.
      type: list
      elements: int
    failed_database:
      description: The index the server refused, on a refused C(SELECT).
      type: int
      returned: on a refused SELECT
  sample:
    ok: false
    target: redis.example.com:6379
    step: auth
    cause: password
    code: WRONGPASS
    msg: "Redis at redis.example.com:6379 refused AUTH with the password: WRONGPASS invalid username-password pair or user is disabled."
postgresql:
  description: The PostgreSQL login, when O(postgresql) was given; C(code) is the SQLSTATE.
  returned: when O(postgresql) is given
  type: dict
  sample:
    ok: false
    target: pg.example.com:5432
    step: auth
    cause: password
    code: 28P01
    auth_method: scram-sha-256
    msg: 'PostgreSQL at pg.example.com:5432 refused user harbor, database registry: password authentication failed for user "harbor" [SQLSTATE 28P01]'
mysql:
  description: The MySQL/MariaDB login, when O(mysql) was given; C(code) is the error number.
  returned: when O(mysql) is given
  type: dict
  sample:
    ok: false
    target: mariadb.example.com:3306
    step: auth
    cause: password
    code: "1045"
    auth_method: mysql_native_password
    msg: "MySQL/MariaDB at mariadb.example.com:3306 refused user harbor, database registry: Access denied for user ... [error 1045, SQLSTATE 28000]"
ceph:
  description: The Ceph authentication, when O(ceph) was given; C(skipped) with the reason when the host has no C(ceph) CLI.
  returned: when O(ceph) is given
  type: dict
  sample:
    ok: false
    skipped: false
    target: 10.0.0.1:6789
    step: auth
    cause: key
    code: "13"
    client: client.harbor
    msg: "Ceph (monitors 10.0.0.1:6789) as client.harbor: the monitors refused the key: ... RADOS permission denied (error connecting to the cluster)"
tcp:
  description: One result per O(tcp) address, in order; C(ok) false with C(cause=unreachable) and the reason when no connection was made.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: the external Redis, host: redis.example.com, port: 6379, target: "redis.example.com:6379", ok: true, cause: null,
       msg: "the external Redis at redis.example.com:6379 accepts TCP connections"}
time:
  description:
    - The host's clock (seconds since the epoch) when the module started, so that a caller can compare it with its own
      clock without another round trip.
  returned: always
  type: float
  sample: 1796389200.123
failed_checks:
  description: Names of the logins that failed (not counting O(ignore)d causes and skipped checks), and V(tcp) when an O(tcp) address could not be reached.
  returned: always
  type: list
  elements: str
  sample: [redis]
msg:
  description: One line per login.
  returned: always
  type: str
'''

import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.registryops.harbor_ha.plugins.module_utils._service_login import (
    ceph_login, mysql_login, postgresql_login, redis_login, result, tcp_probe,
)

SERVICES = ('redis', 'postgresql', 'mysql', 'ceph')


def run_checks(module):
    params = module.params
    timeout = params['timeout']
    jobs = {}
    if params['redis']:
        cfg = params['redis']
        jobs['redis'] = (redis_login, (cfg['host'], cfg['port']),
                         dict(password=cfg['password'], username=cfg['username'], databases=cfg['databases'], timeout=timeout))
    if params['postgresql']:
        cfg = params['postgresql']
        jobs['postgresql'] = (postgresql_login, (cfg['host'], cfg['port'], cfg['user'], cfg['password'], cfg['database']),
                              dict(timeout=timeout, ssl_mode=cfg['ssl_mode']))
    if params['mysql']:
        cfg = params['mysql']
        jobs['mysql'] = (mysql_login, (cfg['host'], cfg['port'], cfg['user'], cfg['password'], cfg['database']),
                         dict(timeout=timeout))
    results = {}
    if params['ceph']:
        cfg = params['ceph']
        executable = module.get_bin_path(cfg['executable']) if '/' not in cfg['executable'] else cfg['executable']
        if not executable:
            results['ceph'] = result('ceph', ','.join(cfg['monitors']), False, 'cli',
                                     'the %s CLI is not installed on this host (package ceph-common): the cephx key was not '
                                     'checked here' % cfg['executable'], cause='missing_cli', skipped=True,
                                     client='client.%s' % cfg['name'])
        else:
            jobs['ceph'] = (ceph_login, (executable, cfg['monitors'], cfg['name'], cfg['key']),
                            dict(command=cfg['command'], timeout=timeout))
    tcp = params['tcp'] or []
    for index, cfg in enumerate(tcp):
        jobs[('tcp', index)] = (tcp_probe, (cfg['host'], cfg['port'], timeout), dict(name=cfg['name']))
    if jobs:
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = dict((name, pool.submit(func, *args, **kwargs)) for name, (func, args, kwargs) in jobs.items())
            for name, future in futures.items():
                results[name] = future.result()
    results['tcp'] = [results.pop(('tcp', index)) for index in range(len(tcp))]
    return results


def main():
    module = AnsibleModule(
        argument_spec=dict(
            redis=dict(type='dict', options=dict(
                host=dict(type='str', required=True),
                port=dict(type='int', default=6379),
                password=dict(type='str', no_log=True),
                username=dict(type='str'),
                databases=dict(type='list', elements='int', default=[0]),
            )),
            postgresql=dict(type='dict', options=dict(
                host=dict(type='str', required=True),
                port=dict(type='int', default=5432),
                user=dict(type='str', required=True),
                password=dict(type='str', required=True, no_log=True),
                database=dict(type='str', required=True),
                ssl_mode=dict(type='str', default='disable', choices=['disable', 'prefer', 'require', 'verify-ca', 'verify-full']),
            )),
            mysql=dict(type='dict', options=dict(
                host=dict(type='str', required=True),
                port=dict(type='int', default=3306),
                user=dict(type='str', required=True),
                password=dict(type='str', required=True, no_log=True),
                database=dict(type='str', required=True),
            )),
            ceph=dict(type='dict', options=dict(
                monitors=dict(type='list', elements='str', required=True),
                name=dict(type='str', required=True),
                key=dict(type='str', required=True, no_log=True),
                command=dict(type='list', elements='str', default=['mon', 'stat']),
                executable=dict(type='str', default='ceph'),
            )),
            tcp=dict(type='list', elements='dict', options=dict(
                host=dict(type='str', required=True),
                port=dict(type='int', required=True),
                name=dict(type='str'),
            )),
            timeout=dict(type='float', default=5),
            fail_on_error=dict(type='bool', default=True),
            ignore=dict(type='list', elements='str', default=[]),
        ),
        required_one_of=[SERVICES + ('tcp',)],
        supports_check_mode=True,
    )
    if module.params['timeout'] <= 0:
        module.fail_json(msg='timeout must be more than 0 seconds, got %s' % module.params['timeout'])
    if module.params['ceph'] and not module.params['ceph']['monitors']:
        module.fail_json(msg='ceph.monitors must list at least one monitor')
    started = time.time()
    results = run_checks(module)
    ignored = set(module.params['ignore'])
    failed = [name for name in SERVICES if name in results
              and not results[name]['ok'] and not results[name]['skipped'] and results[name]['cause'] not in ignored]
    output = dict(results)
    unreachable = [probe['msg'] for probe in results['tcp'] if not probe['ok']]
    output.update(changed=False, failed_checks=failed + (['tcp'] if unreachable else []), time=started,
                  msg='; '.join([results[name]['msg'] for name in SERVICES if name in results]
                                + [probe['msg'] for probe in results['tcp']]))
    if output['failed_checks'] and module.params['fail_on_error']:
        output['msg'] = '; '.join([results[name]['msg'] for name in failed] + unreachable)
        module.fail_json(**output)
    module.exit_json(**output)


if __name__ == '__main__':
    main()
