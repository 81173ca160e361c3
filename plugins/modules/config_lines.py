#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
module: config_lines
short_description: Make sure lines are in (or out of) several existing files, in one call
version_added: 0.5.0
description:
  - Each edit works like M(ansible.builtin.lineinfile) on an existing file - the last line matching O(edits[].regexp) is
    replaced by O(edits[].line), or, when no line matches, O(edits[].line) is inserted after the last line matching
    O(edits[].insertafter) (at the end of the file when that is empty or matches nothing); with O(edits[].state=absent)
    every matching line is removed.
  - All edits of all files are one module run. The harbor role writes a dozen shared secrets and passwords into the
    files Harbor's C(prepare) generates; one M(ansible.builtin.lineinfile) per line costs a module run per line and
    node on every run of the playbook, even when nothing changes.
  - A file is written only when its content changes, atomically, keeping its owner, group and mode. Missing files
    are an error (the module never creates one).
author:
  - registryops maintainers (@registryops)
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: full
    description: A before/after per changed file (use no_log for secrets; the harbor role turns diff off).
options:
  edits:
    description: The edits, applied in order; several may target the same file.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      regexp:
        description: Python regular expression matched against each line (without its line ending).
        type: str
        required: true
      line:
        description: The line (without line ending). Required with O(edits[].state=present).
        type: str
      insertafter:
        description: Where a missing line goes - after the last line matching this regular expression; empty means the end.
        type: str
        default: ''
      state:
        description: C(present) or C(absent).
        type: str
        choices: [present, absent]
        default: present
'''

EXAMPLES = r'''
- name: Write shared secrets into Harbor's env files
  registryops.harbor_ha.config_lines:
    edits:
      - {path: /opt/harbor/common/config/core/env, regexp: '^CORE_SECRET=', line: "CORE_SECRET={{ core_secret }}"}
      - {path: /opt/harbor/common/config/jobservice/env, regexp: '^CORE_SECRET=', line: "CORE_SECRET={{ core_secret }}"}
      - {path: /opt/harbor/common/config/registry/config.yml, regexp: '^  relativeurls: ', state: absent}
  no_log: true
  diff: false
'''

RETURN = r'''
changed_paths:
  description: The files that changed (or would change in check mode).
  returned: always
  type: list
  elements: str
'''

import os
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native


def apply_edits(text, edits):
    """Returns text with the edits applied, lineinfile-style (see DOCUMENTATION)."""
    original = text.splitlines()
    lines = list(original)
    for edit in edits:
        pattern = re.compile(edit['regexp'])
        matches = [i for i, existing in enumerate(lines) if pattern.search(existing)]
        if edit.get('state', 'present') == 'absent':
            lines = [existing for i, existing in enumerate(lines) if i not in set(matches)]
            continue
        if matches:
            lines[matches[-1]] = edit['line']
            continue
        anchor = edit.get('insertafter') or ''
        anchors = [i for i, existing in enumerate(lines) if anchor and re.search(anchor, existing)]
        if anchors:
            lines.insert(anchors[-1] + 1, edit['line'])
        else:
            lines.append(edit['line'])
    if lines == original:
        return text  # untouched, byte for byte (a missing final newline is not a reason to write)
    return '\n'.join(lines) + ('\n' if lines else '')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            edits=dict(type='list', elements='dict', required=True, options=dict(
                path=dict(type='path', required=True),
                regexp=dict(type='str', required=True),
                line=dict(type='str'),
                insertafter=dict(type='str', default=''),
                state=dict(type='str', choices=['present', 'absent'], default='present'),
            ), required_if=[('state', 'present', ['line'])]),
        ),
        supports_check_mode=True,
    )
    by_path = {}
    for edit in module.params['edits']:
        by_path.setdefault(edit['path'], []).append(edit)
    changed_paths, diffs = [], []
    for path, edits in by_path.items():
        if not os.path.isfile(path):
            module.fail_json(msg='%s does not exist (config_lines edits existing files only)' % path)
        with open(path, 'rb') as handle:
            before = handle.read().decode('utf-8')
        try:
            after = apply_edits(before, edits)
        except re.error as err:
            module.fail_json(msg='%s: bad regular expression: %s' % (path, to_native(err)))
        if after == before:
            continue
        changed_paths.append(path)
        diffs.append({'before_header': path, 'after_header': path, 'before': before, 'after': after})
        if module.check_mode:
            continue
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.config_lines.')
        with os.fdopen(fd, 'wb') as handle:
            handle.write(to_bytes(after))
        module.atomic_move(tmp, path, unsafe_writes=False)
    module.exit_json(changed=bool(changed_paths), changed_paths=changed_paths, diff=diffs)


if __name__ == '__main__':
    main()
