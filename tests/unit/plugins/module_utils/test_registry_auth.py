# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the pure parts of the registry auth client: parsing and the diagnosis."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import base64
import json

import pytest

from ansible_collections.registryops.harbor_ha.plugins.module_utils._registry_auth import (
    Target, clock_offset, diagnose, jwt_header, parse_challenge, registry_error,
)


def node(name, error=None, healthy=True, token_ok=True, key_id='KEY-A', offset=0):
    return {'name': name, 'url': 'http://%s' % name, 'healthy': healthy, 'health': 'healthy' if healthy else 'down',
            'api_version': 'v2', 'token_ok': token_ok, 'error': error, 'key_id': key_id, 'realm': None, 'clock_offset': offset}


def matrix(names, refused):
    """refused: set of (issuer, verifier) pairs that fail."""
    return [{'issuer': i, 'verifier': v, 'ok': (i, v) not in refused, 'status': 401 if (i, v) in refused else 200,
             'error': 'HTTP 401: invalid_token' if (i, v) in refused else None} for i in names for v in names]


def test_parse_challenge_reads_realm_service_and_error():
    scheme, params = parse_challenge('Bearer realm="https://h/service/token",service="harbor-registry",error="invalid_token"')
    assert scheme == 'bearer'
    assert params == {'realm': 'https://h/service/token', 'service': 'harbor-registry', 'error': 'invalid_token'}
    assert parse_challenge(None) == (None, {})


def test_registry_error_prefers_the_json_error_code():
    assert registry_error(b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}') == \
        'UNAUTHORIZED: authentication required'
    assert registry_error(b'plain text') == 'plain text'


def test_jwt_header_decodes_unpadded_base64url():
    head = base64.urlsafe_b64encode(json.dumps({'alg': 'RS256', 'kid': 'AB:CD'}).encode()).rstrip(b'=').decode()
    assert jwt_header(head + '.e30.sig') == {'alg': 'RS256', 'kid': 'AB:CD'}
    assert jwt_header('garbage') == {}


def test_clock_offset_from_date_header():
    assert clock_offset('Thu, 01 Jan 1970 00:01:40 GMT', now=40) == 60
    assert clock_offset(None) is None


@pytest.mark.parametrize('url', ['harbor1:80', 'ftp://h', 'http://', ''])
def test_target_rejects_malformed_urls(url):
    with pytest.raises(ValueError):
        Target('nodes[0] (x)', url)


def test_target_host_header_and_sni():
    plain = Target('n', 'https://10.0.0.1:8443/base/')
    assert (plain.address, plain.port, plain.base_path, plain.host_header, plain.sni) == ('10.0.0.1', 8443, '/base', '10.0.0.1:8443', '10.0.0.1')
    named = Target('n', 'https://10.0.0.1', 'harbor.example.com:443')
    assert (named.host_header, named.sni) == ('harbor.example.com:443', 'harbor.example.com')


def test_all_good_gives_no_diagnosis():
    names = ['n1', 'n2', 'n3']
    assert diagnose([node(n) for n in names], matrix(names, set())) == []


def test_one_odd_key_names_that_node_and_the_evidence():
    names = ['n1', 'n2', 'n3']
    nodes = [node('n1'), node('n2', key_id='KEY-B'), node('n3')]
    refused = {('n1', 'n2'), ('n3', 'n2'), ('n2', 'n1'), ('n2', 'n3')}
    sentences = diagnose(nodes, matrix(names, refused))
    assert sentences == ["n2 refuses tokens from n1 and n3, and its tokens are refused by both: n2's token signing key "
                         "differs from the one n1 and n3 use (token key id KEY-B on n2, KEY-A on n1 and n3); distribute "
                         "the same private_key.pem and root.crt to every node"]


def test_two_groups_of_two_name_the_minority_group_once():
    names = ['n1', 'n2', 'n3', 'n4', 'n5']
    nodes = [node(n, key_id='A' if n in ('n1', 'n2', 'n3') else 'B') for n in names]
    refused = {(i, v) for i in names for v in names if (i in ('n4', 'n5')) != (v in ('n4', 'n5'))}
    sentences = diagnose(nodes, matrix(names, refused))
    assert len(sentences) == 1
    assert sentences[0].startswith('n4 and n5 refuse tokens from n1, n2 and n3')
    assert "n4 and n5' token signing key differs from the one n1, n2 and n3 use" in sentences[0]


def test_node_refusing_its_own_tokens_means_key_and_cert_are_not_a_pair():
    names = ['n1', 'n2']
    refused = {('n2', 'n2'), ('n2', 'n1')}
    sentences = diagnose([node('n1'), node('n2')], matrix(names, refused))
    assert any('n2 refuses tokens it issued itself' in s for s in sentences)


def test_unreachable_node_is_reported_once_and_its_pairs_are_not_blamed_on_keys():
    names = ['n1', 'n2', 'n3']
    nodes = [node('n1'), node('n2', error='cannot reach n2 at http://n2: refused', healthy=False, token_ok=False, key_id=None),
             node('n3')]
    refused = {(i, v) for i in names for v in names if 'n2' in (i, v)}
    sentences = diagnose(nodes, matrix(names, refused))
    assert sentences == ['cannot reach n2 at http://n2: refused']


def test_clock_skew_is_called_out():
    names = ['n1', 'n2']
    sentences = diagnose([node('n1'), node('n2', offset=95)], matrix(names, set()))
    assert sentences and 'n2 clock differs from this host by +95 s' in sentences[0]


def test_endpoint_failure_is_reported_with_counts():
    endpoint = {'url': 'http://lb', 'ok': False, 'attempts': 3, 'succeeded': 1, 'error': 'HTTP 401: invalid_token'}
    assert diagnose([node('n1')], matrix(['n1'], set()), endpoint) == ['login through http://lb failed 2 of 3 times: HTTP 401: invalid_token']
