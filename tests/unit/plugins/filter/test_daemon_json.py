# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the daemon_json filter: merge as data, keep foreign keys, report changed keys."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.registryops.harbor_ha.plugins.filter.daemon_json import FilterModule, daemon_json


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters()['daemon_json'] is daemon_json


@pytest.mark.parametrize('empty', [None, '', '  \n', b'', {}])
def test_missing_or_empty_file_is_an_empty_configuration(empty):
    result = daemon_json(empty, options={'storage-driver': 'overlay2'})
    assert result['previous'] == {}
    assert result['config'] == {'storage-driver': 'overlay2'}
    assert result['differs'] is True
    assert result['differing_keys'] == ['storage-driver']


def test_foreign_keys_are_kept_and_options_merged_recursively():
    current = json.dumps({'log-opts': {'max-size': '10m', 'max-file': '3'}, 'insecure-registries': ['a.test'],
                          'debug': False})
    result = daemon_json(current, options={'log-opts': {'max-size': '50m'}, 'exec-opts': ['native.cgroupdriver=systemd']})
    assert result['config'] == {'log-opts': {'max-size': '50m', 'max-file': '3'}, 'insecure-registries': ['a.test'],
                                'debug': False, 'exec-opts': ['native.cgroupdriver=systemd']}
    assert result['differing_keys'] == ['exec-opts', 'log-opts']


def test_same_data_in_other_formatting_is_unchanged():
    current = '{"storage-driver":"overlay2","exec-opts":["native.cgroupdriver=systemd"]}'
    result = daemon_json(current, options={'exec-opts': ['native.cgroupdriver=systemd'], 'storage-driver': 'overlay2'})
    assert result['differs'] is False
    assert result['differing_keys'] == []


def test_lists_in_options_replace_the_current_list():
    result = daemon_json({'dns': ['1.1.1.1', '8.8.8.8']}, options={'dns': ['9.9.9.9']})
    assert result['config']['dns'] == ['9.9.9.9']


def test_union_adds_sorted_and_never_drops_entries():
    current = {'insecure-registries': ['z.test:5000', 'other.test'], 'storage-driver': 'overlay2'}
    result = daemon_json(current, union={'insecure-registries': ['harbor.lab.test', 'other.test']})
    assert result['config']['insecure-registries'] == ['harbor.lab.test', 'other.test', 'z.test:5000']
    assert result['config']['storage-driver'] == 'overlay2'
    assert result['differing_keys'] == ['insecure-registries']


def test_union_is_idempotent():
    first = daemon_json({}, union={'insecure-registries': ['b.test', 'a.test']})
    second = daemon_json(json.dumps(first['config']), union={'insecure-registries': ['b.test', 'a.test']})
    assert first['config']['insecure-registries'] == ['a.test', 'b.test']
    assert second['differs'] is False


def test_remove_takes_items_out_and_drops_an_emptied_list():
    current = {'insecure-registries': ['a.test', 'b.test'], 'debug': True}
    result = daemon_json(current, remove={'insecure-registries': ['a.test']})
    assert result['config'] == {'insecure-registries': ['b.test'], 'debug': True}
    result = daemon_json(current, remove={'insecure-registries': ['a.test', 'b.test']})
    assert result['config'] == {'debug': True}
    assert result['differing_keys'] == ['insecure-registries']
    assert daemon_json({'debug': True}, remove={'insecure-registries': ['a.test']})['differs'] is False


def test_input_is_not_modified():
    current = {'log-opts': {'max-size': '10m'}}
    daemon_json(current, options={'log-opts': {'max-size': '1g'}})
    assert current == {'log-opts': {'max-size': '10m'}}


@pytest.mark.parametrize('current, kwargs, message', [
    ('{not json', {}, 'not valid JSON'),
    ('[1, 2]', {}, 'must be a JSON object'),
    (42, {}, 'expected the JSON text'),
    ({'insecure-registries': 'a.test'}, {'union': {'insecure-registries': ['b.test']}}, 'not a list'),
    ({}, {'union': {'insecure-registries': 'b.test'}}, 'must be a list'),
    ({}, {'options': ['storage-driver']}, 'must be a dictionary'),
])
def test_errors_say_what_is_wrong(current, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        daemon_json(current, **kwargs)
