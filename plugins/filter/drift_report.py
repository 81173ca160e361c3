# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
name: drift_report
short_description: Compare what every node reports, item by item, with the key set and with each other
version_added: 0.7.0
description:
  - The comparison of C(playbooks/audit.yml). Every node reports a list of items (a name, the node's value and,
    where something says what it must be, the expected value, from the key set for keys, certificates and
    shared secrets, from the inventory for the version). For each item the filter finds the nodes that differ and says on what
    basis.
  - An item with an expected value differs on every node whose value is not the expected one, whatever the other
    nodes hold.
  - An item without one (the compose file, the engine settings, the mount) is compared across nodes. When more
    than half of the nodes agree, the others differ; when no value has a majority, every node differs
    (the nodes disagree and nothing says which is right). A node that did not report an item differs.
  - Values of the form C(sha256:<hex>) are shown by their first 12 hex digits in the table.
author:
  - registryops maintainers (@registryops)
positional: _input
options:
  _input:
    description:
      - Per node (in the order of the inventory), the list of its items, each a dict with C(item), C(value) and
        optionally C(expected) (empty or missing when nothing is expected).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Compare the nodes' fingerprints
  ansible.builtin.set_fact:
    audit_report: >-
      {{ {'harbor1': [{'item': 'token key', 'value': 'sha256:aa', 'expected': 'sha256:aa'}],
          'harbor2': [{'item': 'token key', 'value': 'sha256:bb', 'expected': 'sha256:aa'}]}
         | registryops.harbor_ha.drift_report }}
'''

RETURN = r'''
_value:
  description: The report.
  type: dict
  contains:
    ok:
      description: Whether no node differs in any item.
      type: bool
    nodes:
      description: The node names, in input order.
      type: list
      elements: str
    items:
      description: The item names, in the order they were first reported.
      type: list
      elements: str
    differences:
      description: One entry per node and item that differs, with C(node), C(item), C(value), C(expected) (the
        expected value or the majority's, empty when there is none) and C(basis) (C(expected), C(majority) or
        C(no majority)).
      type: list
      elements: dict
    table:
      description: Lines of a table, an item per row, a column for the expected value (C(-) when none) and one per
        node; a differing cell is marked with C(!).
      type: list
      elements: str
    messages:
      description: One sentence per difference, naming the node and the item.
      type: list
      elements: str
'''

from ansible.errors import AnsibleFilterError

NOT_REPORTED = 'not reported'
EXPECTED_COLUMN = 'expected'


def short(value):
    """sha256:<64 hex> as its first 12 hex digits; anything else as it is."""
    text = '' if value is None else str(value)
    if text.startswith('sha256:'):
        return text[len('sha256:'):][:12]
    return text


def _items_by_node(nodes):
    if not isinstance(nodes, dict):
        raise AnsibleFilterError('drift_report: expects a dict of node name -> list of items, got %s'
                                 % type(nodes).__name__)
    order, values, expected = [], {}, {}
    for node, entries in nodes.items():
        if not isinstance(entries, list):
            raise AnsibleFilterError('drift_report: the items of node %s are not a list' % node)
        values[node] = {}
        for entry in entries:
            if not isinstance(entry, dict) or 'item' not in entry or 'value' not in entry:
                raise AnsibleFilterError('drift_report: node %s: every item needs "item" and "value", got %r'
                                         % (node, entry))
            item = str(entry['item'])
            if item not in values[node]:
                values[node][item] = str(entry['value'])
            if item not in order:
                order.append(item)
            if entry.get('expected') not in (None, '') and item not in expected:
                expected[item] = str(entry['expected'])
    return order, values, expected


def _compare(item, node_names, values, expected):
    """The differing nodes of one item: [(node, value, expected, basis)]."""
    seen = [(node, values[node].get(item, NOT_REPORTED)) for node in node_names]
    if item in expected:
        return [(node, value, expected[item], 'expected') for node, value in seen if value != expected[item]]
    counts = {}
    for dummy, value in seen:
        counts[value] = counts.get(value, 0) + 1
    if len(counts) <= 1:
        return []
    top, top_count = max(counts.items(), key=lambda kv: kv[1])
    if top_count * 2 > len(seen):
        return [(node, value, top, 'majority') for node, value in seen if value != top]
    return [(node, value, '', 'no majority') for node, value in seen]


def _message(node, item, value, wanted, basis, count):
    if basis == 'expected':
        return '%s: %s is %s, expected %s' % (node, item, short(value), short(wanted))
    if basis == 'majority':
        return '%s: %s is %s, %d other node(s) have %s' % (node, item, short(value), count, short(wanted))
    return '%s: %s is %s, and no value is shared by more than half of the nodes' % (node, item, short(value))


def drift_report(nodes):
    order, values, expected = _items_by_node(nodes)
    node_names = list(values)
    differences, messages, marked = [], [], set()
    for item in order:
        differing = _compare(item, node_names, values, expected)
        agreeing = len(node_names) - len(differing)
        for node, value, wanted, basis in differing:
            differences.append({'node': node, 'item': item, 'value': value, 'expected': wanted, 'basis': basis})
            messages.append(_message(node, item, value, wanted, basis, agreeing))
            marked.add((node, item))

    header = ['item', EXPECTED_COLUMN] + node_names
    rows = []
    for item in order:
        row = [item, short(expected.get(item, '-'))]
        for node in node_names:
            cell = short(values[node].get(item, NOT_REPORTED))
            row.append(('! ' + cell) if (node, item) in marked else cell)
        rows.append(row)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    table = [' | '.join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in [header] + rows]
    table.insert(1, '-+-'.join('-' * w for w in widths))
    return {'ok': not differences, 'nodes': node_names, 'items': order, 'differences': differences,
            'table': table, 'messages': messages}


class FilterModule(object):
    """Cluster drift report."""

    def filters(self):
        return {'drift_report': drift_report}
