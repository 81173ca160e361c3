# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
name: harbor_upgrade_path
short_description: How the nodes get from the Harbor release they run to harbor_version, or why they cannot
version_added: 0.8.0
description:
  - The only place besides P(registryops.harbor_ha.harbor_release#filter) that compares Harbor release numbers. The harbor
    role's preflight and C(playbooks/upgrade.yml) ask it before anything changes.
  - C(none) when every node that has Harbor runs O(_input) already (or no node has Harbor yet); C(patch) when they run
    an older patch release of the same minor release (the schema does not change, so a rolling restart, one node at a time);
    C(minor) when they run an older minor release of 2.x (core migrates the database schema when it starts, so every node
    must stop, one starts and migrates, then the rest).
  - Refused, with a message that names C(harbor_version) and the nodes, are a downgrade (Harbor's schema migrations only
    go up), a change between 1.x and 2.x (another database engine), a 2.x jump of more than two minor releases (Harbor's
    upgrade guide for 2.y covers migration from 2.(y-2) and later only), a minor change within 1.x (only 1.5 is
    supported), nodes that run different minor releases (an earlier upgrade did not finish) and a minor upgrade with
    a node that has no Harbor yet (it joins after the upgrade).
author:
  - registryops maintainers (@registryops)
options:
  _input:
    description: The target release, C(harbor_version).
    type: string
    required: true
  running:
    description: Per node, the release its Harbor containers were created from; an empty value for a node without Harbor.
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Plan the upgrade
  ansible.builtin.set_fact:
    harbor_upgrade: "{{ harbor_version | registryops.harbor_ha.harbor_upgrade_path({'harbor1': '2.14.4', 'harbor2': '2.14.4'}) }}"
'''

RETURN = r'''
_value:
  description: The plan.
  type: dict
  contains:
    kind: {description: C(none), C(patch) or C(minor); C(refused) with O(error) set., type: str}
    to: {description: The target release., type: str}
    from: {description: The oldest release a node runs (C('') when no node has Harbor)., type: str}
    nodes: {description: The nodes that run another release than the target, sorted., type: list, elements: str}
    error: {description: Why the upgrade is refused (C('') when it is not)., type: str}
'''

import re

from ansible.errors import AnsibleFilterError

_RELEASE = re.compile(r'^([0-9]+)\.([0-9]+)\.([0-9]+)$')
# Harbor's upgrade guide for 2.y: "only covers migration from v2.(y-2).0 and later".
_MAX_MINOR_STEP = 2


def _parse(version, what):
    match = _RELEASE.match(str(version))
    if not match:
        raise AnsibleFilterError('harbor_upgrade_path: %s is %r, not a release like 2.15.0' % (what, version))
    return tuple(int(part) for part in match.groups())


def _names(nodes):
    return ', '.join(sorted(nodes))


def harbor_upgrade_path(target, running):
    """The upgrade plan from the releases the nodes run to target (see DOCUMENTATION)."""
    to = _parse(target, 'harbor_version')
    if not isinstance(running, dict):
        raise AnsibleFilterError('harbor_upgrade_path: running must be a dict of node: release')
    versions = {}
    for node, version in running.items():
        if version:
            versions.setdefault(_parse(version, 'the release of %s' % node), []).append(node)
    plan = {'kind': 'none', 'to': str(target), 'from': '', 'nodes': [], 'error': ''}
    if not versions:
        return plan
    oldest = min(versions)
    plan['from'] = '.'.join(str(part) for part in oldest)
    plan['nodes'] = sorted(node for version, nodes in versions.items() if version != to for node in nodes)

    def refuse(message):
        plan['kind'] = 'refused'
        plan['error'] = message
        return plan

    def label(version):
        return '.'.join(str(part) for part in version)

    newer = {version: nodes for version, nodes in versions.items() if version > to}
    if newer:
        return refuse('harbor_version %s is older than the release the nodes run (%s): Harbor does not downgrade (its '
                      'schema migrations only go up). Set harbor_version to the release they run, or restore the backup '
                      'taken before the upgrade (playbooks/restore.yml).'
                      % (target, '; '.join('%s on %s' % (label(v), _names(n)) for v, n in sorted(newer.items()))))
    majors_minors = {version[:2] for version in versions}
    if len(majors_minors) > 1:
        return refuse('The nodes run different minor releases (%s): an earlier upgrade did not finish. Set harbor_version to '
                      'the newest of them and run playbooks/upgrade.yml to bring the others to it first.'
                      % '; '.join('%s on %s' % (label(v), _names(n)) for v, n in sorted(versions.items())))
    if oldest == to:
        return plan
    if oldest[0] != to[0]:
        return refuse('harbor_version %s is another major release than the %s the nodes run (%s): Harbor %d.x and %d.x use '
                      'different database engines, which this collection does not migrate.'
                      % (target, label(oldest), _names(plan['nodes']), oldest[0], to[0]))
    if oldest[:2] == to[:2]:
        plan['kind'] = 'patch'
        return plan
    if to[0] == 1:
        return refuse('harbor_version %s: the collection supports Harbor 1.5 only, the nodes run %s (%s).'
                      % (target, label(oldest), _names(plan['nodes'])))
    without = sorted(node for node, version in running.items() if not version)
    if without:
        return refuse('harbor_version %s is a minor upgrade from %s, and %s run(s) no Harbor yet: a minor upgrade migrates '
                      'the running cluster only. Take the node(s) out of harbor_nodes, upgrade, then add them with '
                      'playbooks/scale_out.yml.' % (target, label(oldest), ', '.join(without)))
    if to[1] - oldest[1] > _MAX_MINOR_STEP:
        return refuse('harbor_version %s is %d minor releases ahead of the %s the nodes run (%s): Harbor %d.%d migrates '
                      'from %d.%d.0 and later only. Upgrade to %d.%d first.'
                      % (target, to[1] - oldest[1], label(oldest), _names(plan['nodes']), to[0], to[1], to[0],
                         to[1] - _MAX_MINOR_STEP, to[0], to[1] - _MAX_MINOR_STEP))
    plan['kind'] = 'minor'
    return plan


class FilterModule(object):
    """Harbor upgrade planning."""

    def filters(self):
        return {'harbor_upgrade_path': harbor_upgrade_path}
