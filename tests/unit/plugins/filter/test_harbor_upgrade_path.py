# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the harbor_upgrade_path filter: which upgrades run rolling, which stop the cluster, which are refused."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.registryops.harbor_ha.plugins.filter.harbor_upgrade_path import FilterModule, harbor_upgrade_path


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters()['harbor_upgrade_path'] is harbor_upgrade_path


def test_no_node_has_harbor_yet_is_a_fresh_install():
    plan = harbor_upgrade_path('2.15.0', {'harbor1': '', 'harbor2': None})
    assert plan == {'kind': 'none', 'to': '2.15.0', 'from': '', 'nodes': [], 'error': ''}


def test_every_node_at_the_target_needs_nothing_and_a_new_node_does_not_count():
    plan = harbor_upgrade_path('2.15.0', {'harbor1': '2.15.0', 'harbor2': '2.15.0', 'harbor4': ''})
    assert (plan['kind'], plan['from'], plan['nodes']) == ('none', '2.15.0', [])


def test_a_newer_patch_release_is_a_rolling_patch_upgrade():
    plan = harbor_upgrade_path('2.15.2', {'harbor2': '2.15.0', 'harbor1': '2.15.0'})
    assert (plan['kind'], plan['from'], plan['to'], plan['nodes']) == ('patch', '2.15.0', '2.15.2', ['harbor1', 'harbor2'])


def test_a_patch_upgrade_that_stopped_half_way_goes_on():
    plan = harbor_upgrade_path('2.15.2', {'harbor1': '2.15.2', 'harbor2': '2.15.0', 'harbor3': '2.15.1'})
    assert (plan['kind'], plan['from'], plan['nodes']) == ('patch', '2.15.0', ['harbor2', 'harbor3'])


@pytest.mark.parametrize('running', ['2.14.4', '2.13.0'])
def test_one_or_two_minor_releases_ahead_is_a_minor_upgrade(running):
    plan = harbor_upgrade_path('2.15.0', {'harbor1': running, 'harbor2': running})
    assert (plan['kind'], plan['from'], plan['error']) == ('minor', running, '')


def test_more_than_two_minor_releases_ahead_is_refused_naming_the_step_between():
    plan = harbor_upgrade_path('2.15.0', {'harbor1': '2.12.3', 'harbor2': '2.12.3'})
    assert plan['kind'] == 'refused'
    assert 'harbor_version 2.15.0' in plan['error'] and 'Upgrade to 2.13 first' in plan['error']
    assert 'harbor1, harbor2' in plan['error']


@pytest.mark.parametrize('target', ['2.15.0', '2.14.4'])
def test_a_downgrade_is_refused_naming_the_nodes_and_their_release(target):
    plan = harbor_upgrade_path(target, {'harbor1': '2.15.2', 'harbor2': '2.15.2', 'harbor3': '2.15.2'})
    assert plan['kind'] == 'refused'
    assert plan['error'].startswith('harbor_version %s is older than the release the nodes run (2.15.2 on harbor1, harbor2, harbor3)' % target)
    assert 'restore.yml' in plan['error']


def test_one_node_ahead_is_a_downgrade_for_that_node():
    plan = harbor_upgrade_path('2.15.0', {'harbor1': '2.15.0', 'harbor2': '2.15.2'})
    assert plan['kind'] == 'refused' and '2.15.2 on harbor2)' in plan['error']


def test_nodes_on_different_minor_releases_are_refused():
    plan = harbor_upgrade_path('2.15.0', {'harbor1': '2.15.0', 'harbor2': '2.14.4'})
    assert plan['kind'] == 'refused'
    assert '2.14.4 on harbor2; 2.15.0 on harbor1' in plan['error']


@pytest.mark.parametrize('target,running', [('2.15.0', '1.5.4'), ('1.5.4', '2.15.0')])
def test_a_change_of_major_release_is_refused(target, running):
    plan = harbor_upgrade_path(target, {'harbor1': running})
    assert plan['kind'] == 'refused'
    assert 'database engines' in plan['error'] or 'older than' in plan['error']


def test_a_minor_change_within_1x_is_refused():
    plan = harbor_upgrade_path('1.6.0', {'harbor1': '1.5.4'})
    assert plan['kind'] == 'refused' and 'Harbor 1.5 only' in plan['error']


def test_a_malformed_release_names_its_source():
    with pytest.raises(AnsibleFilterError, match='harbor_version'):
        harbor_upgrade_path('v2.15', {'harbor1': '2.15.0'})
    with pytest.raises(AnsibleFilterError, match='the release of harbor1'):
        harbor_upgrade_path('2.15.0', {'harbor1': 'latest'})


def test_a_minor_upgrade_with_a_node_without_harbor_is_refused_naming_it():
    plan = harbor_upgrade_path('2.15.0', {'harbor1': '2.14.4', 'harbor4': ''})
    assert plan['kind'] == 'refused' and 'harbor4 run(s) no Harbor yet' in plan['error']
