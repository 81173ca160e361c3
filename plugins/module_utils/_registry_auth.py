# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# PRIVATE: this module_utils file is not a public interface of the collection. It may change
# or go away in any release, without deprecation. Use the login_matrix module instead.

"""Docker registry v2 token login, probed node by node, and the cross-node login matrix.

The flow a Docker client runs against Harbor:
  1. GET /v2/ -> 401 with ``WWW-Authenticate: Bearer realm="<...>/service/token",service="harbor-registry"``
  2. GET <realm>?service=... with basic auth -> {"token": ...} (an RS256 JWT signed with private_key.pem)
  3. GET /v2/ with ``Authorization: Bearer <token>`` -> 200 when the verifier trusts the signing key.
Behind a load balancer steps 2 and 3 may land on different nodes, so every node's token must be
accepted by every node. This file runs those steps against each node directly and explains failures.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import base64
import datetime
import email.utils
import json
import re
import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.six.moves import http_client
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlsplit

CHALLENGE_PARAM = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
HEALTH_PATHS = {
    'v2': ('/api/v2.0/ping', '/api/v2.0/health'),
    'v1': ('/api/ping', '/api/systeminfo'),
}
CLOCK_SKEW_WARN_SECONDS = 30


class ProbeError(Exception):
    """A request could not be made or gave an unusable answer; the message is for humans."""


class Target(object):
    """Where to connect (scheme, address, port) and what name to present (Host header, TLS SNI)."""

    def __init__(self, name, url, registry_host=None):
        parts = urlsplit(url)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ValueError("%s: '%s' is not an http:// or https:// URL with a host" % (name, url))
        self.name = name
        self.url = url.rstrip('/')
        self.scheme = parts.scheme
        self.address = parts.hostname
        self.port = parts.port or (443 if parts.scheme == 'https' else 80)
        self.base_path = parts.path.rstrip('/')
        default_port = 443 if self.scheme == 'https' else 80
        if registry_host:
            self.host_header = registry_host
            self.sni = registry_host.rsplit(':', 1)[0] if not registry_host.startswith('[') else registry_host
        else:
            self.host_header = parts.hostname if self.port == default_port else '%s:%s' % (parts.hostname, self.port)
            self.sni = parts.hostname


class HTTPClient(object):
    """Minimal HTTP/1.1 client that connects to an address while presenting another name (Host, SNI)."""

    def __init__(self, timeout=10.0, validate_certs=True, ca_path=None):
        self.timeout = timeout
        self.ssl_context = None
        self.validate_certs = validate_certs
        self.ca_path = ca_path

    def _context(self):
        if self.ssl_context is None:
            if self.validate_certs:
                context = ssl.create_default_context(cafile=self.ca_path) if self.ca_path else ssl.create_default_context()
            else:
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self.ssl_context = context
        return self.ssl_context

    def request(self, target, method, path, headers=None):
        """Returns (status, headers with lower-case names, body bytes); raises ProbeError."""
        headers = dict(headers or {})
        headers['Host'] = target.host_header
        headers.setdefault('User-Agent', 'registryops.harbor_ha.login_matrix')
        headers.setdefault('Connection', 'close')
        if target.scheme == 'https':
            conn = _SNIHTTPSConnection(target.address, target.port, target.sni, self._context(), self.timeout)
        else:
            conn = http_client.HTTPConnection(target.address, target.port, timeout=self.timeout)
        try:
            conn.request(method, target.base_path + path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), body
        except ssl.SSLCertVerificationError as exc:
            raise ProbeError('TLS certificate of %s at %s (checked for name %s) not trusted: %s (give ca_path, or fix the certificate)'
                             % (target.name, target.url, target.sni, exc.verify_message or exc))
        except ssl.SSLError as exc:
            raise ProbeError('TLS error talking to %s at %s: %s' % (target.name, target.url, exc))
        except socket.timeout:
            raise ProbeError('%s at %s did not answer within %ss' % (target.name, target.url, self.timeout))
        except (OSError, http_client.HTTPException) as exc:
            raise ProbeError('cannot reach %s at %s: %s' % (target.name, target.url, exc))
        finally:
            conn.close()


class _SNIHTTPSConnection(http_client.HTTPSConnection):
    def __init__(self, address, port, sni, context, timeout):
        http_client.HTTPSConnection.__init__(self, address, port, timeout=timeout, context=context)
        self._sni = sni
        self._ctx = context

    def connect(self):
        http_client.HTTPConnection.connect(self)
        self.sock = self._ctx.wrap_socket(self.sock, server_hostname=self._sni)


def parse_challenge(value):
    """'Bearer realm="x",service="y",error="invalid_token"' -> ('bearer', {'realm': 'x', ...})."""
    if not value:
        return None, {}
    scheme, _sep, rest = value.strip().partition(' ')
    params = dict((k.lower(), v.replace('\\"', '"')) for k, v in CHALLENGE_PARAM.findall(rest))
    return scheme.lower(), params


def registry_error(body):
    """First error of a registry/Harbor JSON error body, as 'CODE: message', else a short text excerpt."""
    try:
        data = json.loads(body.decode('utf-8'))
        errors = data.get('errors') or []
        if errors:
            first = errors[0]
            return ('%s: %s' % (first.get('code', ''), first.get('message', ''))).strip(': ')
    except (ValueError, AttributeError, UnicodeDecodeError):
        pass
    text = body.decode('utf-8', 'replace').strip() if body else ''
    return text[:200]


def jwt_header(token):
    """The decoded JOSE header of a JWT (no verification: used as evidence only)."""
    try:
        head = token.split('.')[0]
        head += '=' * (-len(head) % 4)
        return json.loads(base64.urlsafe_b64decode(head.encode('ascii')).decode('utf-8'))
    except (ValueError, IndexError, UnicodeDecodeError, TypeError):
        return {}


def clock_offset(date_header, now=None):
    """Seconds the peer's clock is ahead of ours, from an HTTP Date header (None if absent)."""
    if not date_header:
        return None
    try:
        peer = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    if peer.tzinfo is None:
        peer = peer.replace(tzinfo=datetime.timezone.utc)
    now = now if now is not None else time.time()
    return int(round(peer.timestamp() - now))


class RegistryProbe(object):
    """Runs the steps of a registry login against one target."""

    def __init__(self, client, username, password, service):
        self.client = client
        self.username = username
        self.password = password
        self.service = service

    def challenge(self, target):
        """GET /v2/ anonymously; returns dict(realm, service, clock_offset) for a Bearer challenge."""
        status, headers, body = self.client.request(target, 'GET', '/v2/')
        result = {'clock_offset': clock_offset(headers.get('date'))}
        if status == 200:
            raise ProbeError('%s answered /v2/ with 200 without any credentials: token authentication is not enabled' % target.name)
        scheme, params = parse_challenge(headers.get('www-authenticate'))
        if status != 401 or scheme != 'bearer' or 'realm' not in params:
            raise ProbeError('%s answered /v2/ with HTTP %s and no Bearer challenge (%s): is this a Harbor registry endpoint?'
                             % (target.name, status, registry_error(body) or headers.get('www-authenticate', 'no WWW-Authenticate')))
        result['realm'] = params['realm']
        result['service'] = params.get('service', '')
        return result

    def fetch_token(self, target, realm, service=None):
        """Asks the target's token service (the realm's path, on the target) for a token with basic auth."""
        parts = urlsplit(realm)
        query = urlencode([('account', self.username), ('service', service or self.service)])
        path = (parts.path or '/service/token') + '?' + (parts.query + '&' if parts.query else '') + query
        auth = base64.b64encode(('%s:%s' % (self.username, self.password)).encode('utf-8')).decode('ascii')
        # The realm's path is requested on the node itself, not on the realm's host: that is what
        # makes the token come from THIS node even when the realm names the load balancer.
        status, _headers, body = self.client.request(target, 'GET', path, {'Authorization': 'Basic ' + auth})
        if status == 401:
            raise ProbeError("%s rejected the credentials of user '%s' at %s (HTTP 401: %s): wrong password, or the user "
                             "is not in the database this node uses" % (target.name, self.username, parts.path, registry_error(body)))
        if status != 200:
            raise ProbeError('%s token service %s answered HTTP %s: %s' % (target.name, parts.path, status, registry_error(body)))
        try:
            data = json.loads(body.decode('utf-8'))
        except (ValueError, UnicodeDecodeError):
            raise ProbeError('%s token service answered 200 without JSON' % target.name)
        token = data.get('token') or data.get('access_token')
        if not token:
            raise ProbeError('%s token service answered without a token' % target.name)
        return token

    def present(self, target, token):
        """GET /v2/ with the token; returns (ok, status, error)."""
        status, headers, body = self.client.request(target, 'GET', '/v2/', {'Authorization': 'Bearer ' + token})
        if status == 200:
            return True, status, None
        _scheme, params = parse_challenge(headers.get('www-authenticate'))
        detail = params.get('error_description') or params.get('error') or registry_error(body)
        return False, status, 'HTTP %s%s' % (status, ': %s' % detail if detail else '')

    def health(self, target, api):
        """Returns (healthy, api_version, detail). api: 'auto', 'v1' or 'v2'."""
        versions = ['v2', 'v1'] if api == 'auto' else [api]
        last = None
        for version in versions:
            ping, info = HEALTH_PATHS[version]
            status, _headers, body = self.client.request(target, 'GET', ping)
            if status == 404 and api == 'auto':
                last = '%s not found' % ping
                continue
            if status != 200:
                return False, version, '%s answered HTTP %s' % (ping, status)
            if version == 'v1':
                status, _headers, body = self.client.request(target, 'GET', info)
                if status != 200:
                    return False, version, '%s answered HTTP %s' % (info, status)
                return True, version, 'ping ok'
            status, _headers, body = self.client.request(target, 'GET', info)
            if status != 200:
                return False, version, '%s answered HTTP %s' % (info, status)
            try:
                data = json.loads(body.decode('utf-8'))
            except (ValueError, UnicodeDecodeError):
                return False, version, '%s did not return JSON' % info
            # /api/v2.0/health is always HTTP 200: the verdict is in "status".
            if data.get('status') != 'healthy':
                bad = ['%s (%s)' % (c.get('name'), c.get('error') or c.get('status'))
                       for c in data.get('components', []) if c.get('status') != 'healthy']
                return False, version, 'unhealthy components: %s' % (', '.join(bad) or data.get('status'))
            return True, version, 'healthy'
        return False, None, 'no Harbor API found (%s)' % last

    def login(self, target):
        """The whole login flow through one target (e.g. the load balancer)."""
        info = self.challenge(target)
        token = self.fetch_token(target, info['realm'], info['service'] or None)
        return self.present(target, token)


def _node_phase(probe, target, api, check_health):
    result = {'name': target.name, 'url': target.url, 'healthy': None, 'api_version': None, 'health': None,
              'token_ok': False, 'error': None, 'key_id': None, 'realm': None, 'clock_offset': None}
    token = None
    if check_health:
        try:
            result['healthy'], result['api_version'], result['health'] = probe.health(target, api)
        except ProbeError as exc:
            result['healthy'], result['health'] = False, str(exc)
    try:
        info = probe.challenge(target)
        result['realm'], result['clock_offset'] = info['realm'], info['clock_offset']
        token = probe.fetch_token(target, info['realm'], info['service'] or None)
        result['token_ok'] = True
        result['key_id'] = jwt_header(token).get('kid')
    except ProbeError as exc:
        result['error'] = str(exc)
    if result['error'] is None and result['healthy'] is False:
        result['error'] = '%s is unhealthy: %s' % (target.name, result['health'])
    return result, token


def _pair(probe, issuer, verifier, token):
    try:
        ok, status, error = probe.present(verifier, token)
    except ProbeError as exc:
        ok, status, error = False, None, str(exc)
    return {'issuer': issuer.name, 'verifier': verifier.name, 'ok': ok, 'status': status, 'error': error}


def _endpoint_phase(probe, target, attempts):
    result = {'url': target.url, 'ok': False, 'attempts': attempts, 'succeeded': 0, 'errors': []}
    for _i in range(attempts):
        try:
            ok, _status, error = probe.login(target)
        except ProbeError as exc:
            ok, error = False, str(exc)
        if ok:
            result['succeeded'] += 1
        elif error not in result['errors']:
            result['errors'].append(error)
    result['ok'] = result['succeeded'] == attempts
    result['error'] = None if result['ok'] else '; '.join(result['errors'])
    return result


def run_matrix(probe, targets, endpoint=None, api='auto', check_health=True, endpoint_attempts=3, workers=16):
    """Probes every node, every ordered (issuer, verifier) pair, and the endpoint, concurrently."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(targets) * len(targets) + 1))) as pool:
        endpoint_future = pool.submit(_endpoint_phase, probe, endpoint, endpoint_attempts) if endpoint else None
        phase = list(pool.map(lambda t: _node_phase(probe, t, api, check_health), targets))
        nodes = [r for r, _t in phase]
        tokens = dict((t.name, token) for t, (_r, token) in zip(targets, phase))
        jobs = []
        for issuer in targets:
            for verifier in targets:
                if tokens[issuer.name] is None:
                    continue
                jobs.append(pool.submit(_pair, probe, issuer, verifier, tokens[issuer.name]))
        results = dict(((j.result()['issuer'], j.result()['verifier']), j.result()) for j in jobs)
        endpoint_result = endpoint_future.result() if endpoint_future else None
    matrix = []
    for issuer in targets:
        for verifier in targets:
            pair = results.get((issuer.name, verifier.name))
            if pair is None:
                pair = {'issuer': issuer.name, 'verifier': verifier.name, 'ok': False, 'status': None,
                        'error': 'no token from %s to present' % issuer.name}
            matrix.append(pair)
    return nodes, matrix, endpoint_result


def _names(items):
    items = list(items)
    if len(items) <= 1:
        return ''.join(items)
    return ', '.join(items[:-1]) + ' and ' + items[-1]


def diagnose(nodes, matrix, endpoint=None):
    """Human sentences naming the node(s) at fault and the likely cause."""
    sentences = []
    by_name = dict((n['name'], n) for n in nodes)
    names = [n['name'] for n in nodes]
    for node in nodes:
        if node['error']:
            sentences.append(node['error'])
        elif node['healthy'] is False:
            sentences.append('%s is unhealthy: %s' % (node['name'], node['health']))
        offset = node.get('clock_offset')
        if offset is not None and abs(offset) > CLOCK_SKEW_WARN_SECONDS:
            sentences.append('%s clock differs from this host by %+d s: tokens are only valid within 60 s of leeway, '
                             'sync clocks (NTP/chrony)' % (node['name'], offset))
    ok = dict(((p['issuer'], p['verifier']), p['ok']) for p in matrix)
    with_token = [n for n in names if by_name[n]['token_ok']]
    # Nodes whose own token is refused by themselves: private key and trusted cert do not match.
    self_refusing = [n for n in with_token if not ok.get((n, n))]
    for n in self_refusing:
        sentences.append("%s refuses tokens it issued itself: its token signing key (private_key.pem) and the "
                         "certificate its registry trusts (root.crt) are not a pair" % n)
    # Group the remaining nodes by mutual acceptance; the largest group is taken as the reference.
    candidates = [n for n in with_token if n not in self_refusing]
    groups = []
    for n in candidates:
        for group in groups:
            ref = group[0]
            if ok.get((n, ref)) and ok.get((ref, n)):
                group.append(n)
                break
        else:
            groups.append([n])
    explained = set(self_refusing)
    if len(groups) > 1:
        groups.sort(key=len, reverse=True)
        reference = groups[0]
        for group in groups[1:]:
            explained.update(group)
            others = [n for n in candidates if n not in group]
            refusing = [o for o in others if not ok.get((o, group[0]))]
            refused_by = [o for o in others if not ok.get((group[0], o))]
            subject = _names(group)
            single = len(group) == 1
            parts = []
            if refusing:
                parts.append('%s refuse%s tokens from %s' % (subject, 's' if single else '', _names(refusing)))
            if refused_by:
                whom = ('both' if len(refused_by) == 2 else 'all of them') if refused_by == refusing and len(refused_by) > 1 \
                    else _names(refused_by)
                parts.append('%s tokens are refused by %s' % ('its' if single else 'their', whom))
            kid, ref_kid = by_name[group[0]].get('key_id'), by_name[reference[0]].get('key_id')
            evidence = ' (token key id %s on %s, %s on %s)' % (kid, subject, ref_kid, _names(reference)) \
                if kid and ref_kid and kid != ref_kid else ''
            sentences.append('%s: %s token signing key differs from the one %s use%s%s; distribute the same '
                             'private_key.pem and root.crt to every node'
                             % (', and '.join(parts), subject + "'s" if single else subject + "'", _names(reference),
                                's' if len(reference) == 1 else '', evidence))
    # Any other failed pair, unless a node error above already explains it.
    for pair in matrix:
        if pair['ok'] or pair['issuer'] not in with_token:
            continue
        if pair['issuer'] in explained or pair['verifier'] in explained or by_name[pair['verifier']]['error']:
            continue
        sentences.append('token issued by %s rejected by %s: %s' % (pair['issuer'], pair['verifier'], pair['error']))
    if endpoint is not None and not endpoint['ok']:
        sentences.append('login through %s failed %d of %d times: %s'
                         % (endpoint['url'], endpoint['attempts'] - endpoint['succeeded'], endpoint['attempts'], endpoint['error']))
    return sentences
