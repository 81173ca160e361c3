# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
name: daemon_json
short_description: Merge settings into a Docker daemon.json, keeping every key another tool owns
version_added: 0.1.0
description:
  - Takes the current content of C(/etc/docker/daemon.json) (a JSON string or an already parsed
    dictionary) and returns the configuration after merging the caller's settings into it, whether it
    differs from the current one, and which top-level keys differ.
  - Keys that the caller does not name are kept unchanged, so several roles can own different keys of
    the same file (for example, C(docker_engine) owns storage and cgroup options, C(registry_client)
    owns C(insecure-registries)).
  - The comparison is made on the data, not on the text, so a file that only differs in formatting
    is reported as unchanged.
  - The top-level keys that changed tell the caller whether the Docker daemon can reload the change
    with C(SIGHUP) (C(systemctl reload docker)) or needs a restart.
author:
  - registryops maintainers (@registryops)
options:
  _input:
    description:
      - The current daemon configuration, as the JSON text of the file or as a dictionary.
      - An empty string, V(null) or only whitespace means that there is no file yet.
    type: raw
    required: true
  options:
    description:
      - Settings merged recursively into the configuration. Dictionaries are merged key by key; any
        other value (string, number, list) replaces the current one.
    type: dict
    default: {}
  union:
    description:
      - Lists to extend. For each key, the result is the sorted union of the current list and the given
        items; current entries are never removed.
    type: dict
    default: {}
  remove:
    description:
      - Items to take out of lists. For each key, the given items are removed from the current list; a
        list that becomes empty is removed from the configuration. Applied after O(options) and O(union).
    type: dict
    default: {}
'''

EXAMPLES = r'''
- name: Merge storage options into the current daemon.json
  ansible.builtin.set_fact:
    daemon: "{{ current_json_text | registryops.harbor_ha.daemon_json(options={'storage-driver': 'overlay2'}) }}"

- name: Add insecure registries without dropping the ones already there
  ansible.builtin.set_fact:
    daemon: >-
      {{ current_json_text | registryops.harbor_ha.daemon_json(union={'insecure-registries': ['harbor.lab.test']}) }}

- name: Write the file only when the data differs
  ansible.builtin.copy:
    dest: /etc/docker/daemon.json
    content: "{{ daemon.config | to_nice_json }}\n"
    mode: "0644"
    validate: python3 -m json.tool %s
  when: daemon.differs
'''

RETURN = r'''
_value:
  description: The merge result.
  type: dict
  contains:
    config:
      description: The configuration to write.
      type: dict
    previous:
      description: The current configuration, parsed.
      type: dict
    differs:
      description: Whether RV(_value.config) differs from RV(_value.previous) as data.
      type: bool
    differing_keys:
      description: Sorted top-level keys that were added, removed or changed; empty when RV(_value.differs) is false.
      type: list
      elements: str
'''

import copy
import json

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text


_MISSING = object()


def _sort_key(entry):
    # Strings sort as themselves; anything else (rare in daemon.json lists) by its canonical JSON text.
    if isinstance(entry, str):
        return (0, entry)
    return (1, json.dumps(entry, sort_keys=True))


def _parse(current):
    if current is None:
        return {}
    if isinstance(current, dict):
        return copy.deepcopy(current)
    if isinstance(current, (bytes, bytearray)):
        current = to_text(current, errors='surrogate_or_strict')
    if isinstance(current, str):
        if not current.strip():
            return {}
        try:
            parsed = json.loads(current)
        except ValueError as exc:
            raise AnsibleFilterError('daemon_json: the current daemon configuration is not valid JSON (%s); '
                                     'fix or remove the file, then run again' % exc)
        if not isinstance(parsed, dict):
            raise AnsibleFilterError('daemon_json: the current daemon configuration must be a JSON object, '
                                     'found %s' % type(parsed).__name__)
        return parsed
    raise AnsibleFilterError('daemon_json: expected the JSON text of daemon.json or a dictionary, got %s'
                             % type(current).__name__)


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _list_of(config, key, what):
    value = config.get(key, [])
    if not isinstance(value, list):
        raise AnsibleFilterError('daemon_json: cannot %s items of "%s": its current value is a %s, not a list'
                                 % (what, key, type(value).__name__))
    return value


def _check_mapping(name, value):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise AnsibleFilterError('daemon_json: %s must be a dictionary, got %s' % (name, type(value).__name__))
    for key, items in value.items():
        if name != 'options' and not isinstance(items, (list, tuple)):
            raise AnsibleFilterError('daemon_json: %s["%s"] must be a list, got %s' % (name, key, type(items).__name__))
    return value


def daemon_json(current, options=None, union=None, remove=None):
    """Merge settings into a daemon.json document; see DOCUMENTATION."""
    options = _check_mapping('options', options)
    union = _check_mapping('union', union)
    remove = _check_mapping('remove', remove)
    previous = _parse(current)
    config = _merge(copy.deepcopy(previous), options)
    for key, items in union.items():
        existing = _list_of(config, key, 'add')
        merged = list(existing)
        for item in items:
            if item not in merged:
                merged.append(item)
        config[key] = sorted(merged, key=_sort_key)
    for key, items in remove.items():
        if key not in config:
            continue
        kept = [item for item in _list_of(config, key, 'remove') if item not in items]
        if kept:
            config[key] = kept
        else:
            del config[key]
    differing_keys = sorted(key for key in set(previous) | set(config) if previous.get(key, _MISSING) != config.get(key, _MISSING))
    return {
        'config': config,
        'previous': previous,
        'differs': bool(differing_keys),
        'differing_keys': differing_keys,
    }


class FilterModule(object):
    """Docker daemon.json helpers."""

    def filters(self):
        return {'daemon_json': daemon_json}
