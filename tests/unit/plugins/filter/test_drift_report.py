# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the drift_report filter (the audit's comparison; the lab injects real drift into real nodes)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.registryops.harbor_ha.plugins.filter.drift_report import FilterModule, drift_report

A = 'sha256:' + 'a' * 64
B = 'sha256:' + 'b' * 64
C = 'sha256:' + 'c' * 64


def item(name, value, expected=''):
    return {'item': name, 'value': value, 'expected': expected}


def cluster(**values_by_node):
    """node=[(item, value, expected), ...] -> the filter's input, nodes in the order given."""
    return {node: [item(*entry) for entry in entries] for node, entries in values_by_node.items()}


def pairs(report):
    return [(d['node'], d['item'], d['basis']) for d in report['differences']]


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters()['drift_report'] is drift_report


def test_nodes_that_agree_with_the_key_set_and_each_other_are_clean():
    report = drift_report(cluster(h1=[('token_key', A, A), ('compose', B)], h2=[('token_key', A, A), ('compose', B)]))
    assert report['ok'] and report['differences'] == [] and report['messages'] == []
    assert report['nodes'] == ['h1', 'h2'] and report['items'] == ['token_key', 'compose']


def test_an_expected_value_judges_a_node_even_when_the_other_nodes_agree_with_the_odd_one():
    # Two nodes hold the same foreign key: the key set, not the majority, says they differ.
    report = drift_report(cluster(h1=[('token_key', A, A)], h2=[('token_key', B, A)], h3=[('token_key', B, A)]))
    assert pairs(report) == [('h2', 'token_key', 'expected'), ('h3', 'token_key', 'expected')]
    assert report['messages'][0] == 'h2: token_key is bbbbbbbbbbbb, expected aaaaaaaaaaaa'


def test_an_item_without_a_key_set_value_is_judged_by_the_majority():
    report = drift_report(cluster(h1=[('compose', C)], h2=[('compose', A)], h3=[('compose', A)]))
    assert pairs(report) == [('h1', 'compose', 'majority')]
    assert report['differences'][0]['expected'] == A
    assert report['messages'] == ['h1: compose is cccccccccccc, 2 other node(s) have aaaaaaaaaaaa']


def test_without_a_majority_every_node_is_named():
    report = drift_report(cluster(h1=[('version', 'v2.15.0')], h2=[('version', 'v2.15.1')]))
    assert pairs(report) == [('h1', 'version', 'no majority'), ('h2', 'version', 'no majority')]


def test_an_item_a_node_did_not_report_differs_there():
    report = drift_report(cluster(h1=[('mount', 'ceph x'), ('extra', 'y')], h2=[('mount', 'ceph x')],
                                  h3=[('mount', 'ceph x'), ('extra', 'y')]))
    assert pairs(report) == [('h2', 'extra', 'majority')]
    assert report['differences'][0]['value'] == 'not reported'


def test_the_table_has_a_row_per_item_a_column_per_node_and_marks_what_differs():
    report = drift_report(cluster(h1=[('token_key', A, A), ('mount', 'ceph x')],
                                  harbor2=[('token_key', B, A), ('mount', 'ceph x')]))
    header, rule, key_row, mount_row = report['table']
    assert header.split(' | ') == ['item     ', 'expected    ', 'h1          ', 'harbor2']
    assert set(rule) == {'-', '+'}
    assert [c.strip() for c in key_row.split(' | ')] == ['token_key', 'aaaaaaaaaaaa', 'aaaaaaaaaaaa', '! bbbbbbbbbbbb']
    assert [c.strip() for c in mount_row.split(' | ')] == ['mount', '-', 'ceph x', 'ceph x']


def test_missing_and_unreadable_answers_are_values_like_any_other():
    report = drift_report(cluster(h1=[('secretkey', 'missing', A)], h2=[('secretkey', A, A)]))
    assert pairs(report) == [('h1', 'secretkey', 'expected')]
    assert report['messages'] == ['h1: secretkey is missing, expected aaaaaaaaaaaa']


@pytest.mark.parametrize('bad, message', [
    (['h1'], 'expects a dict'),
    ({'h1': 'token_key'}, 'the items of node h1 are not a list'),
    ({'h1': [{'item': 'x'}]}, 'node h1: every item needs'),
])
def test_malformed_input_is_refused_with_the_node_named(bad, message):
    with pytest.raises(AnsibleFilterError, match=message):
        drift_report(bad)
