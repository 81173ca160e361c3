# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the keyset_layout filter: the one place that writes down the key set's file layout."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.registryops.harbor_ha.plugins.filter.keyset_layout import FilterModule, keyset_layout

KEYSET = '/srv/harbor/keyset'

# The expected layout, written out: (name, path under the key set, mode).
COMMON_FILES = [
    ('token_key', 'token/private_key.pem', '0600'),
    ('token_cert', 'token/root.crt', '0644'),
    ('secretkey', 'secrets/secretkey', '0600'),
    ('csrf_key', 'secrets/csrf_key', '0600'),
    ('core_secret', 'secrets/core_secret', '0600'),
    ('jobservice_secret', 'secrets/jobservice_secret', '0600'),
    ('registry_credential_password', 'secrets/registry_credential_password', '0600'),
    ('registry_http_secret', 'secrets/registry_http_secret', '0600'),
    ('robot_scanner_prefix', 'secrets/robot_scanner_prefix', '0600'),
    ('registry_htpasswd', 'secrets/registry_htpasswd', '0600'),
]
TLS_FILES = {
    'self_signed': [('tls_ca_key', 'tls/ca.key', '0600'), ('tls_ca', 'tls/ca.crt', '0644'),
                    ('tls_key', 'tls/server.key', '0600'), ('tls_cert', 'tls/server.crt', '0644')],
    'provided': [('tls_ca', 'tls/ca.crt', '0644'), ('tls_key', 'tls/server.key', '0600'), ('tls_cert', 'tls/server.crt', '0644')],
    'none': [],
}
COMMON = dict((relative, mode) for dummy, relative, mode in COMMON_FILES)
TLS = dict((tls, dict((relative, mode) for dummy, relative, mode in files)) for tls, files in TLS_FILES.items())
COMMON_PATHS = dict((name, relative) for name, relative, dummy in COMMON_FILES)
TLS_PATHS = dict((tls, dict((name, relative) for name, relative, dummy in files)) for tls, files in TLS_FILES.items())


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters()['keyset_layout'] is keyset_layout


@pytest.mark.parametrize('mode', ['self_signed', 'provided', 'none'])
def test_each_mode_has_its_files_with_their_modes(mode):
    layout = keyset_layout(KEYSET, mode)
    expected = dict(COMMON, **TLS[mode])
    assert {f['relative']: f['mode'] for f in layout['files']} == expected
    assert len(layout['files']) == len(expected)  # no file twice
    assert all(f['what'] for f in layout['files'])
    assert layout['dir'] == KEYSET
    assert layout['tls_mode'] == mode


def test_the_keyset_role_order_is_kept():
    """Token pair, then the secrets (the htpasswd entry last, it is made from the registry credential), then TLS."""
    relative = [f['relative'] for f in keyset_layout(KEYSET, 'self_signed')['files']]
    assert relative[:2] == ['token/private_key.pem', 'token/root.crt']
    assert relative[9] == 'secrets/registry_htpasswd'
    assert relative[10:] == ['tls/ca.key', 'tls/ca.crt', 'tls/server.key', 'tls/server.crt']


@pytest.mark.parametrize('mode', ['self_signed', 'provided', 'none'])
def test_paths_are_absolute_and_named(mode):
    layout = keyset_layout(KEYSET, mode)
    expected = dict((name, KEYSET + '/' + relative) for name, relative in dict(COMMON_PATHS, **TLS_PATHS[mode]).items())
    assert layout['paths'] == expected
    for entry in layout['files']:
        assert entry['path'] == KEYSET + '/' + entry['relative']
        assert layout['paths'][entry['name']] == entry['path']


def test_tls_entries_are_absent_without_tls():
    paths = keyset_layout(KEYSET, 'none')['paths']
    assert not [name for name in paths if name.startswith('tls_')]
    assert 'tls_ca_key' not in keyset_layout(KEYSET, 'provided')['paths']


@pytest.mark.parametrize('mode, subdirectories', [
    ('self_signed', ['token', 'secrets', 'tls']),
    ('provided', ['token', 'secrets', 'tls']),
    ('none', ['token', 'secrets']),
])
def test_directories_are_0700_the_key_set_directory_first(mode, subdirectories):
    directories = keyset_layout(KEYSET, mode)['directories']
    assert directories[0] == {'path': KEYSET, 'relative': '.', 'mode': '0700'}
    assert directories[1:] == [{'path': KEYSET + '/' + d, 'relative': d, 'mode': '0700'} for d in subdirectories]


@pytest.mark.parametrize('directory', [KEYSET + '/', KEYSET + '//'])
def test_trailing_slashes_are_ignored(directory):
    layout = keyset_layout(directory, 'self_signed')
    assert layout['dir'] == KEYSET
    assert layout['paths']['secretkey'] == KEYSET + '/secrets/secretkey'
    assert layout['directories'][0]['path'] == KEYSET


def test_answers_are_independent_copies():
    keyset_layout(KEYSET, 'self_signed')['files'][0]['mode'] = '0777'
    assert keyset_layout(KEYSET, 'self_signed')['files'][0]['mode'] == '0600'


@pytest.mark.parametrize('mode', ['', None, 'self-signed', 'SELF_SIGNED', 'https', 'acme', 'None', False, 1])
def test_unknown_tls_mode_is_refused_naming_the_variables(mode):
    with pytest.raises(AnsibleFilterError, match='harbor_tls_mode.*keyset_tls_mode'):
        keyset_layout(KEYSET, mode)


@pytest.mark.parametrize('directory', ['', None, '/', '//', 'keyset', './keyset', '~/keyset', 42])
def test_a_directory_that_is_not_an_absolute_path_is_refused_naming_the_variables(directory):
    with pytest.raises(AnsibleFilterError, match='harbor_keyset_dir.*keyset_dir'):
        keyset_layout(directory, 'self_signed')
