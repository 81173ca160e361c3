# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
name: env_file_value
short_description: Write a value for a Docker Compose env_file so that the container gets it unchanged
version_added: 0.2.0
description:
  - Returns the value double-quoted, with backslash, C(") and C($) escaped by a backslash and a newline written as C(\n), the
    form in which Docker Compose v2 reads an C(env_file) line back to exactly the original string.
  - "Unquoted, Compose would cut the value at a space followed by C(#) (a comment), interpolate C($NAME) and
    C(${NAME}), and strip surrounding quotes: passwords with such characters would reach Harbor changed."
author:
  - registryops maintainers (@registryops)
options:
  _input:
    description: The value (converted to a string).
    type: raw
    required: true
'''

EXAMPLES = r'''
- name: Write the database password into Harbor's core env file
  ansible.builtin.lineinfile:
    path: /opt/harbor/common/config/core/env
    regexp: '^POSTGRESQL_PASSWORD='
    line: "POSTGRESQL_PASSWORD={{ harbor_database_password | registryops.harbor_ha.env_file_value }}"
  no_log: true
'''

RETURN = r'''
_value:
  description: The value as an env_file line writes it, double quotes included.
  type: string
'''

_ESCAPES = (('\\', '\\\\'), ('"', '\\"'), ('$', '\\$'), ('\n', '\\n'))


def env_file_value(value):
    """Quote value for a Compose env_file line (KEY=<result>)."""
    text = '' if value is None else str(value)
    for raw, escaped in _ESCAPES:
        text = text.replace(raw, escaped)
    return '"%s"' % text


class FilterModule(object):
    """Docker Compose env_file helpers."""

    def filters(self):
        return {'env_file_value': env_file_value}
