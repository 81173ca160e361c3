# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""login_matrix against real registries (distribution), real token services (the core double) and nginx."""

from conftest import ADMIN_PASSWORD


def node_args(nodes, **extra):
    args = dict(nodes=[{'name': n.name, 'url': n.url} for n in nodes], password=ADMIN_PASSWORD, harbor_api='v2')
    args.update(extra)
    return args


def pairs(result, ok):
    return sorted((p['issuer'], p['verifier']) for p in result['matrix'] if p['ok'] is ok)


def test_all_nodes_share_the_key_so_every_pair_passes(lab, shared_key, login_matrix):
    nodes = [lab.add_node('node%d' % i, shared_key, ADMIN_PASSWORD) for i in (1, 2, 3)]
    lab.start()
    lb = lab.load_balancer()
    result = login_matrix(node_args(nodes, endpoint=lb.url, registry_host='harbor.test'))
    assert not result.get('failed'), result.get('msg')
    assert result['changed'] is False
    assert len(result['matrix']) == 9 and all(p['ok'] and p['status'] == 200 for p in result['matrix'])
    assert result['failed_pairs'] == [] and result['diagnosis'] == []
    assert all(n['healthy'] and n['token_ok'] and n['api_version'] == 'v2' for n in result['nodes'])
    assert len({n['key_id'] for n in result['nodes']}) == 1
    assert result['endpoint']['ok'] and result['endpoint']['succeeded'] == 3
    assert result['msg'] == 'all 3 x 3 login pairs passed'


def test_node_with_its_own_key_fails_exactly_its_pairs_and_is_named(lab, shared_key, rogue_key, login_matrix):
    nodes = [lab.add_node('node1', shared_key, ADMIN_PASSWORD), lab.add_node('node2', rogue_key, ADMIN_PASSWORD),
             lab.add_node('node3', shared_key, ADMIN_PASSWORD)]
    lab.start()
    lb = lab.load_balancer()
    result = login_matrix(node_args(nodes, endpoint=lb.url, registry_host='harbor.test'))
    assert result['failed'] is True
    assert pairs(result, False) == [('node1', 'node2'), ('node2', 'node1'), ('node2', 'node3'), ('node3', 'node2')]
    assert all(p['status'] == 401 and 'invalid_token' in p['error'] for p in result['failed_pairs'])
    sentence = result['diagnosis'][0]
    assert sentence.startswith('node2 refuses tokens from node1 and node3, and its tokens are refused by both')
    assert "node2's token signing key differs" in sentence
    assert nodes[1].name in result['msg']
    keys = {n['name']: n['key_id'] for n in result['nodes']}
    assert keys['node1'] == keys['node3'] != keys['node2']
    assert keys['node2'] in sentence
    # Through the round-robin LB the cross-node effect is what clients would see.
    assert result['endpoint']['ok'] is False and 'login through' in result['msg']


def test_fail_on_error_false_returns_the_same_findings_without_failing(lab, shared_key, rogue_key, login_matrix):
    nodes = [lab.add_node('a', shared_key, ADMIN_PASSWORD), lab.add_node('b', rogue_key, ADMIN_PASSWORD)]
    lab.start()
    result = login_matrix(node_args(nodes, fail_on_error=False))
    assert not result.get('failed')
    assert pairs(result, False) == [('a', 'b'), ('b', 'a')]
    assert result['diagnosis'] and result['changed'] is False


def test_wrong_password_on_one_node_is_reported_as_an_auth_error_naming_it(lab, shared_key, login_matrix):
    nodes = [lab.add_node('node1', shared_key, ADMIN_PASSWORD), lab.add_node('node2', shared_key, 'Other-Passw0rd'),
             lab.add_node('node3', shared_key, ADMIN_PASSWORD)]
    lab.start()
    result = login_matrix(node_args(nodes))
    assert result['failed'] is True
    by_name = {n['name']: n for n in result['nodes']}
    assert by_name['node2']['token_ok'] is False
    assert "node2 rejected the credentials of user 'admin'" in by_name['node2']['error']
    assert 'HTTP 401' in by_name['node2']['error']
    assert by_name['node1']['token_ok'] and by_name['node3']['token_ok']
    # Tokens from node1 and node3 are still checked everywhere, node2 included: all of them pass.
    assert all(p['ok'] for p in result['matrix'] if p['issuer'] != 'node2')
    assert all(not p['ok'] for p in result['matrix'] if p['issuer'] == 'node2')
    assert result['diagnosis'] == [by_name['node2']['error']]


def test_node_down_is_unhealthy_and_other_pairs_are_still_reported(lab, shared_key, login_matrix):
    nodes = [lab.add_node('node%d' % i, shared_key, ADMIN_PASSWORD) for i in (1, 2, 3)]
    lab.start()
    nodes[1].stop()
    result = login_matrix(node_args(nodes, timeout=3))
    assert result['failed'] is True
    by_name = {n['name']: n for n in result['nodes']}
    assert by_name['node2']['healthy'] is False
    assert 'cannot reach node2 at %s' % nodes[1].url in by_name['node2']['error']
    assert 'node2' in result['msg']
    good = [p for p in result['matrix'] if 'node2' not in (p['issuer'], p['verifier'])]
    assert len(good) == 4 and all(p['ok'] for p in good)
    assert all(not p['ok'] for p in result['matrix'] if 'node2' in (p['issuer'], p['verifier']))


def test_unhealthy_registry_behind_a_live_proxy_is_reported(lab, shared_key, login_matrix):
    nodes = [lab.add_node('node1', shared_key, ADMIN_PASSWORD), lab.add_node('node2', shared_key, ADMIN_PASSWORD)]
    lab.start()
    nodes[1].stop('registry')
    result = login_matrix(node_args(nodes, timeout=3))
    by_name = {n['name']: n for n in result['nodes']}
    assert by_name['node2']['healthy'] is False
    assert 'registry' in by_name['node2']['health']
    assert result['failed'] is True and by_name['node1']['healthy'] is True


def test_tls_with_ca_path_and_nodes_reached_by_ip_with_registry_host(lab, shared_key, tls_material, login_matrix):
    nodes = [lab.add_node('node%d' % i, shared_key, ADMIN_PASSWORD, tls=tls_material, server_name='harbor.test')
             for i in (1, 2)]
    lab.start()
    ok = login_matrix(node_args(nodes, registry_host='harbor.test', ca_path=tls_material.ca_path))
    assert not ok.get('failed'), ok.get('msg')
    assert all(p['ok'] for p in ok['matrix']) and len(ok['matrix']) == 4
    assert all(n['realm'] == 'https://harbor.test/service/token' for n in ok['nodes'])

    # Without the CA the certificate is refused, and the message says what to do.
    no_ca = login_matrix(node_args(nodes, registry_host='harbor.test'))
    assert no_ca['failed'] is True
    assert 'not trusted' in no_ca['nodes'][0]['error'] and 'ca_path' in no_ca['nodes'][0]['error']

    # Reaching the nodes by IP without registry_host: SNI/Host is 127.0.0.1, which the certificate does not name.
    by_ip = login_matrix(node_args(nodes, ca_path=tls_material.ca_path))
    assert by_ip['failed'] is True
    assert "127.0.0.1" in by_ip['nodes'][0]['error']


def test_host_header_is_sent_when_reaching_nodes_by_address(lab, shared_key, login_matrix):
    nodes = [lab.add_node('node1', shared_key, ADMIN_PASSWORD, server_name='harbor.test')]
    lab.start()
    right = login_matrix(node_args(nodes, registry_host='harbor.test'))
    assert not right.get('failed'), right.get('msg')
    wrong = login_matrix(node_args(nodes, registry_host='other.test'))
    assert wrong['failed'] is True and 'HTTP 421' in wrong['nodes'][0]['error']


def test_check_mode_runs_the_same_read_only_probes(lab, shared_key, login_matrix):
    nodes = [lab.add_node('node1', shared_key, ADMIN_PASSWORD), lab.add_node('node2', shared_key, ADMIN_PASSWORD)]
    lab.start()
    result = login_matrix(node_args(nodes), check=True)
    assert not result.get('failed') and result['changed'] is False
    assert len(result['matrix']) == 4 and all(p['ok'] for p in result['matrix'])


def test_password_is_not_echoed_in_results(lab, shared_key, login_matrix):
    nodes = [lab.add_node('node1', shared_key, ADMIN_PASSWORD)]
    lab.start()
    result = login_matrix(node_args(nodes))
    assert ADMIN_PASSWORD not in repr({k: v for k, v in result.items() if k != 'invocation'})
    assert result['invocation']['module_args']['password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_malformed_url_fails_naming_the_node(login_matrix):
    result = login_matrix(dict(nodes=[{'name': 'good', 'url': 'http://127.0.0.1:1'}, {'name': 'bad', 'url': 'harbor1:80'}],
                               password=ADMIN_PASSWORD))
    assert result['failed'] is True
    assert 'nodes[1] (bad)' in result['msg'] and 'harbor1:80' in result['msg']


def test_missing_password_is_refused_before_any_request(login_matrix):
    result = login_matrix(dict(nodes=[{'name': 'n', 'url': 'http://127.0.0.1:1'}]))
    assert result['failed'] is True and 'password' in result['msg']
