# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
name: harbor_release
short_description: The facts that follow from a Harbor release number (generation, database, API, file layout)
version_added: 0.5.0
description:
  - The one place where the collection tells Harbor generations apart. Every play and role reads the generation,
    the database engine and port, the API paths and the node's key paths from this filter's answer (the cluster
    role publishes it as C(harbor_release)); nothing else compares version numbers.
  - Supported releases are 1.5.x (the legacy profile, MySQL/MariaDB) and 2.y.z (PostgreSQL). Anything else is
    refused with a message that names C(harbor_version).
author:
  - registryops maintainers (@registryops)
options:
  _input:
    description: The Harbor release, digits only (for example C(2.15.0) or C(1.5.4)).
    type: string
    required: true
'''

EXAMPLES = r'''
- name: Show how this release is reached
  ansible.builtin.debug:
    msg: "{{ (harbor_version | registryops.harbor_ha.harbor_release).ping_path }}"
'''

RETURN = r'''
_value:
  description: The release's facts.
  type: dict
  contains:
    version: {description: The release, as given., type: str}
    generation: {description: C(v1) for Harbor 1.x, C(v2) for Harbor 2.x (selects the harbor role's vars, templates and tasks)., type: str}
    api_version: {description: C(v1) (C(/api/)) or C(v2) (C(/api/v2.0/)), as the login_matrix module's C(harbor_api) takes it., type: str}
    database_engine: {description: C(mysql) (MySQL/MariaDB) or C(postgresql)., type: str}
    database_port: {description: The engine's default TCP port., type: int}
    config_file: {description: The installer's configuration file (C(harbor.cfg) or C(harbor.yml))., type: str}
    ping_path: {description: The unauthenticated liveness path., type: str}
    health_path: {description: The path that reports the components' state., type: str}
    secretkey_path: {description: Where the node keeps the secretkey, relative to the data volume., type: str}
    image_namespace: {description: The namespace of the release's images (C(vmware) up to 1.5.x, C(goharbor) after)., type: str}
'''

import re

from ansible.errors import AnsibleFilterError

_RELEASE = re.compile(r'^(1\.5\.[0-9]+|2\.[0-9]+\.[0-9]+)$')

_GENERATIONS = {
    1: {
        'generation': 'v1',
        'api_version': 'v1',
        'database_engine': 'mysql',
        'database_port': 3306,
        'config_file': 'harbor.cfg',
        'ping_path': '/api/ping',
        'health_path': '/api/systeminfo',
        # Harbor 1.5 has no data_volume setting for it: /data/secretkey.
        'secretkey_path': 'secretkey',
        'image_namespace': 'vmware',
    },
    2: {
        'generation': 'v2',
        'api_version': 'v2',
        'database_engine': 'postgresql',
        'database_port': 5432,
        'config_file': 'harbor.yml',
        'ping_path': '/api/v2.0/ping',
        'health_path': '/api/v2.0/health',
        'secretkey_path': 'secret/keys/secretkey',
        'image_namespace': 'goharbor',
    },
}


def harbor_release(version):
    """Facts of a supported Harbor release; AnsibleFilterError naming harbor_version otherwise."""
    text = '' if version is None else str(version)
    if not _RELEASE.match(text):
        raise AnsibleFilterError(
            "harbor_version is '%s': set it to a Harbor release as digits only, 1.5.x (legacy, MySQL) or 2.y.z "
            "(PostgreSQL), for example 2.15.0 or 1.5.4 (quote it in YAML so it stays a string)." % text)
    facts = dict(_GENERATIONS[int(text.split('.', maxsplit=1)[0])])
    facts['version'] = text
    return facts


class FilterModule(object):
    """Harbor release facts."""

    def filters(self):
        return {'harbor_release': harbor_release}
