# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the harbor_release filter: the one place that tells Harbor generations apart."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.registryops.harbor_ha.plugins.filter.harbor_release import FilterModule, harbor_release


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters()['harbor_release'] is harbor_release


@pytest.mark.parametrize('version', ['1.5.0', '1.5.4'])
def test_legacy_release_is_mysql_with_the_v1_api(version):
    facts = harbor_release(version)
    assert facts['generation'] == 'v1'
    assert (facts['database_engine'], facts['database_port']) == ('mysql', 3306)
    assert facts['ping_path'] == '/api/ping'
    assert facts['secretkey_path'] == 'secretkey'
    assert facts['config_file'] == 'harbor.cfg'
    assert facts['image_namespace'] == 'vmware'
    assert facts['version'] == version


@pytest.mark.parametrize('version', ['2.0.0', '2.10.3', '2.15.0'])
def test_current_release_is_postgresql_with_the_v2_api(version):
    facts = harbor_release(version)
    assert facts['generation'] == 'v2'
    assert facts['api_version'] == 'v2'
    assert (facts['database_engine'], facts['database_port']) == ('postgresql', 5432)
    assert facts['ping_path'] == '/api/v2.0/ping'
    assert facts['health_path'] == '/api/v2.0/health'
    assert facts['secretkey_path'] == 'secret/keys/secretkey'
    assert facts['image_namespace'] == 'goharbor'


def test_answers_are_independent_copies():
    harbor_release('2.15.0')['ping_path'] = '/changed'
    assert harbor_release('2.15.0')['ping_path'] == '/api/v2.0/ping'


@pytest.mark.parametrize('version', ['', None, '2.15', 'v2.15.0', '1.6.0', '1.5.4.1', '3.0.0', '2.15.0-rc1', ' 2.15.0'])
def test_unsupported_or_malformed_release_is_refused_naming_the_variable(version):
    with pytest.raises(AnsibleFilterError, match='harbor_version'):
        harbor_release(version)
