#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
module: login_matrix
short_description: Verify that a registry login works across every Harbor node
version_added: 0.1.0
description:
  - Behind a load balancer, a Docker login fetches a token from one Harbor node and presents it to another.
    This module asks every node's token service for a token and presents every token to every node's
    C(/v2/) endpoint, an N x N matrix, so that a node whose token keys differ is found before clients see
    intermittent C(401) errors.
  - It also checks each node's health endpoint, the login through the load balancer endpoint and,
    optionally, a real login through the Docker daemon of the host it runs on.
  - It reaches each node by its own address while sending the registry name as the HTTP C(Host) header
    and TLS SNI, so certificates and token realms are those clients see.
  - Read-only. It never changes anything and always returns C(changed=false).
author:
  - registryops maintainers (@registryops)
attributes:
  check_mode:
    support: full
    description: The module only reads; check mode runs the same probes.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
  idempotent:
    support: full
    description: Running it again makes the same read-only requests.
options:
  nodes:
    description:
      - The Harbor nodes, each reached directly by its own URL (not through the load balancer).
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name used in results and messages, usually the inventory hostname.
        type: str
        required: true
      url:
        description: Base URL of the node, for example V(http://10.0.0.11) or V(https://10.0.0.11:443).
        type: str
        required: true
  endpoint:
    description:
      - The URL clients use (load balancer or DNS name). When given, a full login is also made through it.
    type: str
  endpoint_attempts:
    description:
      - How many full logins to make through O(endpoint). With a round-robin load balancer several
        attempts make a token from one node meet another node.
    type: int
    default: 3
  registry_host:
    description:
      - The name sent as HTTP C(Host) header and TLS SNI when a node is reached by address, with a port when
        clients use one (V(harbor.example.com) or V(harbor.example.com:8443)).
      - Defaults to the host (and port) of O(endpoint); without O(endpoint) each node's own URL host is used.
    type: str
  username:
    description: The Harbor user to log in as.
    type: str
    default: admin
  password:
    description: Password of O(username).
    type: str
    required: true
  ca_path:
    description: A PEM file with the CA that signed the nodes' (and endpoint's) TLS certificate.
    type: path
  validate_certs:
    description: Verify TLS certificates. Turn off only for a throwaway lab.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each HTTP request.
    type: float
    default: 10
  service:
    description: The token service name the registry expects (the JWT audience).
    type: str
    default: harbor-registry
  harbor_api:
    description:
      - Which Harbor API to use for health checks. V(v2) uses C(/api/v2.0/ping) and C(/api/v2.0/health),
        V(v1) uses C(/api/ping) and C(/api/systeminfo) (Harbor 1.5), V(auto) tries V(v2) and falls back to V(v1).
    type: str
    choices: [auto, v1, v2]
    default: auto
  check_health:
    description: Check each node's health endpoint.
    type: bool
    default: true
  fail_on_error:
    description:
      - Fail when any pair, node, the endpoint or the Docker login fails, with the diagnosis as message.
        With V(false) the results are returned and the caller decides.
    type: bool
    default: true
  docker_login:
    description:
      - Also log in through the Docker daemon of the host the module runs on (Docker SDK for Python), which
        proves that daemon's C(insecure-registries) or C(/etc/docker/certs.d) setup. Credentials are not stored.
    type: bool
    default: false
  docker_host:
    description: The Docker daemon to use with O(docker_login). Defaults to the environment (C(DOCKER_HOST)) or the local socket.
    type: str
requirements:
  - Python 3.6 or later on the host the module runs on.
  - The C(docker) Python package (Docker SDK) only for O(docker_login=true).
notes:
  - Requests run concurrently; with five nodes the 25 pairs take well under two seconds on a LAN.
  - The token service of each node is asked directly (the realm's path on the node's own address), so a
    token is known to come from that node even when the realm names the load balancer.
seealso:
  - name: Docker registry token authentication
    description: The protocol this module exercises.
    link: https://distribution.github.io/distribution/spec/auth/token/
'''

EXAMPLES = r'''
- name: Verify that every node accepts every node's tokens, and the login through the load balancer
  registryops.harbor_ha.login_matrix:
    nodes:
      - name: harbor1
        url: https://10.0.0.11
      - name: harbor2
        url: https://10.0.0.12
      - name: harbor3
        url: https://10.0.0.13
    endpoint: https://harbor.example.com
    username: admin
    password: "{{ harbor_admin_password }}"
    ca_path: /etc/pki/harbor/ca.crt
  delegate_to: localhost
  run_once: true

- name: Check nodes reached by address over TLS and keep going on failure
  registryops.harbor_ha.login_matrix:
    nodes:
      - {name: harbor1, url: "https://192.0.2.11"}
      - {name: harbor2, url: "https://192.0.2.12"}
    registry_host: harbor.example.com
    ca_path: /etc/pki/harbor/ca.crt
    password: "{{ harbor_admin_password }}"
    harbor_api: v2
    fail_on_error: false
  register: login_check

- name: Show which node pairs failed and why
  ansible.builtin.debug:
    var: login_check.diagnosis
  when: login_check.failed_pairs | length > 0

- name: Prove this client's Docker daemon trusts the registry (insecure-registries or certs.d)
  registryops.harbor_ha.login_matrix:
    nodes: []
    endpoint: http://harbor.example.com
    password: "{{ harbor_admin_password }}"
    docker_login: true
'''

RETURN = r'''
nodes:
  description: One entry per node.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: "The node name."
      type: str
      returned: always
    url:
      description: "The node URL."
      type: str
      returned: always
    healthy:
      description: "Health verdict; null when O(check_health=false)."
      type: bool
      returned: always
    health:
      description: "Health detail."
      type: str
      returned: always
    api_version:
      description: "Harbor API generation found (V(v1) or V(v2))."
      type: str
      returned: always
    token_ok:
      description: "Whether this node issued a token for the credentials."
      type: bool
      returned: always
    key_id:
      description: "The C(kid) header of the node's token, that is its signing key id."
      type: str
      returned: always
    realm:
      description: "The token realm the node announces."
      type: str
      returned: always
    clock_offset:
      description: "Seconds the node's clock is ahead of this host, from the HTTP C(Date) header."
      type: int
      returned: always
    error:
      description: "Why the node failed; null when it passed."
      type: str
      returned: always
  sample:
    - {name: harbor1, url: "http://10.0.0.11", healthy: true, health: healthy, api_version: v2, token_ok: true,
       key_id: "ABCD:EFGH:IJKL:MNOP:QRST:UVWX:YZ23:4567:ABCD:EFGH:IJKL:MNOP", realm: "http://harbor.example.com/service/token",
       clock_offset: 0, error: null}
matrix:
  description: Every ordered (issuer, verifier) pair, the diagonal included.
  returned: always
  type: list
  elements: dict
  sample:
    - {issuer: harbor1, verifier: harbor2, ok: false, status: 401, error: "HTTP 401: invalid_token"}
failed_pairs:
  description: The pairs of RV(matrix) that failed.
  returned: always
  type: list
  elements: dict
endpoint:
  description: Result of the logins through O(endpoint) (null without it).
  returned: always
  type: dict
  sample: {url: "https://harbor.example.com", ok: true, attempts: 3, succeeded: 3, errors: [], error: null}
elapsed:
  description: Seconds the node, pair and endpoint probes took.
  returned: always
  type: float
  sample: 0.142
docker_login:
  description: Result of the login through the Docker daemon (null unless O(docker_login=true)).
  returned: always
  type: dict
  sample: {registry: harbor.example.com, ok: true, status: Login Succeeded, error: null}
diagnosis:
  description: Sentences naming the node(s) at fault and the likely cause. Empty when everything passed.
  returned: always
  type: list
  elements: str
  sample:
    - "harbor2 refuses tokens from harbor1 and harbor3, and its tokens are refused by both: harbor2's token signing key
       differs from the one harbor1 and harbor3 use; distribute the same private_key.pem and root.crt to every node"
'''

import time
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.registryops.harbor_ha.plugins.module_utils._registry_auth import (
    HTTPClient, RegistryProbe, Target, diagnose, run_matrix,
)

DOCKER_IMPORT_ERROR = None
try:
    import docker  # pylint: disable=unused-import
except ImportError:
    DOCKER_IMPORT_ERROR = traceback.format_exc()


def docker_login(module, registry, username, password):
    if DOCKER_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib('docker (Docker SDK for Python)'), exception=DOCKER_IMPORT_ERROR)
    import docker as docker_sdk  # pylint: disable=import-outside-toplevel
    result = {'registry': registry, 'ok': False, 'status': None, 'error': None}
    try:
        if module.params['docker_host']:
            client = docker_sdk.DockerClient(base_url=module.params['docker_host'])
        else:
            client = docker_sdk.from_env()
        answer = client.login(username=username, password=password, registry=registry, reauth=True)
        result['status'] = answer.get('Status') if isinstance(answer, dict) else str(answer)
        result['ok'] = True
    except Exception as exc:  # pylint: disable=broad-except
        explanation = getattr(exc, 'explanation', None) or str(exc)
        hint = ''
        text = str(explanation)
        if 'http: server gave HTTP response to HTTPS client' in text:
            hint = ': add it to insecure-registries in /etc/docker/daemon.json and reload docker'
        elif 'x509' in text or 'certificate' in text:
            hint = ': put the CA at /etc/docker/certs.d/%s/ca.crt' % registry
        elif 'unauthorized' in text.lower():
            hint = ': wrong credentials, or token keys differ between the nodes behind the endpoint'
        result['error'] = 'docker login %s through the local Docker daemon failed: %s%s' % (registry, text, hint)
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nodes=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                url=dict(type='str', required=True),
            )),
            endpoint=dict(type='str'),
            endpoint_attempts=dict(type='int', default=3),
            registry_host=dict(type='str'),
            username=dict(type='str', default='admin'),
            password=dict(type='str', required=True, no_log=True),
            ca_path=dict(type='path'),
            validate_certs=dict(type='bool', default=True),
            timeout=dict(type='float', default=10),
            service=dict(type='str', default='harbor-registry'),
            harbor_api=dict(type='str', default='auto', choices=['auto', 'v1', 'v2']),
            check_health=dict(type='bool', default=True),
            fail_on_error=dict(type='bool', default=True),
            docker_login=dict(type='bool', default=False),
            docker_host=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not params['nodes'] and not params['endpoint']:
        module.fail_json(msg='nothing to check: give nodes, endpoint, or both')
    if params['endpoint_attempts'] < 1:
        module.fail_json(msg='endpoint_attempts must be 1 or more, got %s' % params['endpoint_attempts'])
    names = [n['name'] for n in params['nodes']]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        module.fail_json(msg='node names must be unique; repeated: %s' % ', '.join(duplicates))

    registry_host = params['registry_host']
    endpoint = None
    try:
        if params['endpoint']:
            endpoint_target = Target('endpoint', params['endpoint'])
            registry_host = registry_host or endpoint_target.host_header
            endpoint = Target('endpoint', params['endpoint'], registry_host)
        targets = [Target('nodes[%d] (%s)' % (i, n['name']), n['url'], registry_host) for i, n in enumerate(params['nodes'])]
    except ValueError as exc:
        module.fail_json(msg='invalid URL in %s' % exc)
    for target, node in zip(targets, params['nodes']):
        target.name = node['name']
    if params['ca_path'] and not params['validate_certs']:
        module.warn('ca_path is ignored because validate_certs is false')

    client = HTTPClient(timeout=params['timeout'], validate_certs=params['validate_certs'], ca_path=params['ca_path'])
    probe = RegistryProbe(client, params['username'], params['password'], params['service'])
    started = time.time()
    nodes, matrix, endpoint_result = run_matrix(probe, targets, endpoint=endpoint, api=params['harbor_api'],
                                                check_health=params['check_health'],
                                                endpoint_attempts=params['endpoint_attempts'])
    elapsed = round(time.time() - started, 3)
    diagnosis = diagnose(nodes, matrix, endpoint_result)

    login_result = None
    if params['docker_login']:
        docker_registry = registry_host or (urlsplit(params['endpoint']).netloc if params['endpoint'] else None)
        if not docker_registry:
            module.fail_json(msg='docker_login needs registry_host or endpoint to know which registry to log in to')
        login_result = docker_login(module, docker_registry, params['username'], params['password'])
        if not login_result['ok']:
            diagnosis.append(login_result['error'])

    failed_pairs = [p for p in matrix if not p['ok']]
    result = dict(changed=False, nodes=nodes, matrix=matrix, failed_pairs=failed_pairs, endpoint=endpoint_result,
                  docker_login=login_result, diagnosis=diagnosis, elapsed=elapsed)
    failed = bool(diagnosis) or bool(failed_pairs) or any(n['error'] for n in nodes)
    if failed and params['fail_on_error']:
        module.fail_json(msg='; '.join(diagnosis) or 'login check failed', **result)
    result['msg'] = 'all %d x %d login pairs passed' % (len(nodes), len(nodes)) if not failed else '; '.join(diagnosis)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
