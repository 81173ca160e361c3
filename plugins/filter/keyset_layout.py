# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
name: keyset_layout
short_description: The file layout of the shared key set (directories, files, modes, named paths)
version_added: 0.6.0
description:
  - The one place where the collection writes down the layout of the shared key set on the controller
    (token pair, shared secrets, TLS material) and the modes of its directories and files. The C(keyset) role
    creates exactly what this filter lists; every other role and play reads the paths from its answer (the
    cluster role publishes it as C(harbor_keyset)) instead of joining them itself.
  - What the files hold (key sizes, secret lengths and alphabets) is not layout; the C(keyset) role keeps it.
  - A TLS mode other than V(self_signed), V(provided) or V(none), or a directory that is not an absolute path,
    is refused with a message that names C(harbor_tls_mode) / C(keyset_tls_mode) or C(harbor_keyset_dir) /
    C(keyset_dir).
author:
  - registryops maintainers (@registryops)
positional: _input, tls_mode
options:
  _input:
    description: The key set directory, an absolute controller path. Trailing slashes are ignored.
    type: string
    required: true
  tls_mode:
    description:
      - How the TLS material is obtained. V(self_signed) (a CA and a server certificate, C(tls/ca.key) included),
        V(provided) (the operator's certificate, key and CA, no CA key) or V(none) (no C(tls/) at all).
    type: string
    required: true
    choices: [self_signed, provided, none]
'''

EXAMPLES = r'''
- name: Show where the key set keeps the secretkey
  ansible.builtin.debug:
    msg: "{{ (harbor_keyset_dir | registryops.harbor_ha.keyset_layout(harbor_tls_mode)).paths.secretkey }}"

- name: Read the CA certificate clients trust (the cluster role publishes the answer as harbor_keyset)
  ansible.builtin.debug:
    msg: "{{ lookup('ansible.builtin.file', harbor_keyset.paths.tls_ca) }}"
  when: harbor_tls_mode != 'none'
'''

RETURN = r'''
_value:
  description: The layout of the key set for the given TLS mode.
  type: dict
  contains:
    dir:
      description: The key set directory, without trailing slashes.
      type: str
    tls_mode:
      description: The TLS mode, as given.
      type: str
    directories:
      description: Every directory of the key set, the key set directory itself first (no C(tls) with V(none)).
      type: list
      elements: dict
      contains:
        path:
          description: Absolute path.
          type: str
        relative:
          description: Path relative to the key set directory (C(.) for the directory itself).
          type: str
        mode:
          description: Octal mode as a string (C(0700)).
          type: str
    files:
      description: Every file of the key set for the TLS mode, in the order the C(keyset) role makes them.
      type: list
      elements: dict
      contains:
        name:
          description: The file's key in RV(_value.paths).
          type: str
        path:
          description: Absolute path.
          type: str
        relative:
          description: Path relative to the key set directory, for example C(secrets/secretkey).
          type: str
        mode:
          description: Octal mode as a string, C(0600) for keys and secrets, C(0644) for certificates.
          type: str
        what:
          description: What the file holds, in a few words.
          type: str
    paths:
      description:
        - Absolute path of each file by name. C(token_key), C(token_cert), C(secretkey), C(csrf_key), C(core_secret),
          C(jobservice_secret), C(registry_credential_password), C(registry_http_secret), C(robot_scanner_prefix),
          C(registry_htpasswd) always; C(tls_ca), C(tls_cert), C(tls_key) unless the mode is V(none); C(tls_ca_key)
          with V(self_signed) only.
      type: dict
'''

from ansible.errors import AnsibleFilterError

_DIRECTORY_MODE = '0700'
_KEY_MODE = '0600'
_CERT_MODE = '0644'

# (name, path relative to the key set directory, mode, what it holds)
_TOKEN_FILES = (
    ('token_key', 'token/private_key.pem', _KEY_MODE, 'token signing key (RSA, PKCS#1)'),
    ('token_cert', 'token/root.crt', _CERT_MODE, 'self-signed certificate of the token signing key'),
)
_SECRET_FILES = (
    ('secretkey', 'secrets/secretkey', _KEY_MODE, "Harbor's secretkey (encrypts what Harbor stores)"),
    ('csrf_key', 'secrets/csrf_key', _KEY_MODE, "core's CSRF key"),
    ('core_secret', 'secrets/core_secret', _KEY_MODE, "core's shared secret"),
    ('jobservice_secret', 'secrets/jobservice_secret', _KEY_MODE, "the job service's shared secret"),
    ('registry_credential_password', 'secrets/registry_credential_password', _KEY_MODE,
     "password of core's registry user"),
    ('registry_http_secret', 'secrets/registry_http_secret', _KEY_MODE, "the registry's http.secret"),
    ('robot_scanner_prefix', 'secrets/robot_scanner_prefix', _KEY_MODE, 'name prefix of the scanner robot accounts'),
    ('registry_htpasswd', 'secrets/registry_htpasswd', _KEY_MODE, "the registry's htpasswd entry of core's registry user"),
)
_TLS_CA_KEY = ('tls_ca_key', 'tls/ca.key', _KEY_MODE, 'private key of the TLS CA')
_TLS_CA = ('tls_ca', 'tls/ca.crt', _CERT_MODE, 'CA certificate that issued the server certificate (clients trust it)')
_TLS_KEY = ('tls_key', 'tls/server.key', _KEY_MODE, 'private key of the server certificate')
_TLS_CERT = ('tls_cert', 'tls/server.crt', _CERT_MODE, 'server certificate the nodes serve HTTPS with')
_TLS_FILES = {
    'self_signed': (_TLS_CA_KEY, _TLS_CA, _TLS_KEY, _TLS_CERT),
    'provided': (_TLS_CA, _TLS_KEY, _TLS_CERT),
    'none': (),
}
_DIRECTORIES = ('token', 'secrets', 'tls')


def keyset_layout(directory, tls_mode):
    """The key set's directories, files and named paths under directory; AnsibleFilterError on bad input."""
    if not isinstance(tls_mode, str) or tls_mode not in _TLS_FILES:
        raise AnsibleFilterError(
            "harbor_tls_mode (keyset_tls_mode for the keyset role) is '%s': set it to self_signed, provided or none."
            % ('' if tls_mode is None else tls_mode))
    if not isinstance(directory, str) or not directory.startswith('/') or not directory.strip('/'):
        raise AnsibleFilterError(
            "harbor_keyset_dir (keyset_dir for the keyset role) is '%s': set it to the absolute controller path of the "
            "key set directory (for example \"{{ inventory_dir }}/keyset\")." % ('' if directory is None else directory))
    base = directory.rstrip('/')
    files = [{'name': name, 'path': base + '/' + relative, 'relative': relative, 'mode': mode, 'what': what}
             for name, relative, mode, what in _TOKEN_FILES + _SECRET_FILES + _TLS_FILES[tls_mode]]
    subdirectories = [d for d in _DIRECTORIES if any(f['relative'].startswith(d + '/') for f in files)]
    return {
        'dir': base,
        'tls_mode': tls_mode,
        'directories': [{'path': base, 'relative': '.', 'mode': _DIRECTORY_MODE}]
        + [{'path': base + '/' + d, 'relative': d, 'mode': _DIRECTORY_MODE} for d in subdirectories],
        'files': files,
        'paths': dict((f['name'], f['path']) for f in files),
    }


class FilterModule(object):
    """The key set's file layout."""

    def filters(self):
        return {'keyset_layout': keyset_layout}
