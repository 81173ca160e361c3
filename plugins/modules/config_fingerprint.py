#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
module: config_fingerprint
short_description: Fingerprints of a node's configuration (file and value digests, a mount), read-only, in one call
version_added: 0.7.0
description:
  - Reads what must be the same on every node of a cluster and returns it as digests, so that nodes can be compared
    with each other and with the key set on the controller without a secret leaving the node.
  - For each of O(files), the sha256 of the whole file (optionally without its comment lines). For each of O(values), the sha256 of the first capture group
    of the first line of a file that matches a regular expression (a secret in an env file, the registry's
    C(http.secret)). For each of O(mounts), what is mounted there (filesystem type and source), from
    C(/proc/self/mountinfo).
  - A file that is missing or unreadable and a value that no line matches are reported as such, never as an error;
    the caller compares them like any other answer.
  - Changes nothing. The playbook C(playbooks/audit.yml) uses it through the C(harbor) role's C(audit.yml).
author:
  - registryops maintainers (@registryops)
attributes:
  check_mode:
    support: full
    description: Reads only; check mode gives the same answer.
  diff_mode:
    support: none
    description: Nothing is changed.
options:
  files:
    description: Files to digest as a whole.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: The name of the answer (the item of the drift report)., type: str, required: true}
      path: {description: The file., type: path, required: true}
      skip_comments:
        description:
          - Leave out every line whose first non-blank character is C(#) (a rendered file that names its own host in
            a comment is then the same on every node).
        type: bool
        default: false
  values:
    description: Values inside files, found line by line.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: The name of the answer., type: str, required: true}
      path: {description: The file., type: path, required: true}
      regexp:
        description: A Python regular expression matched against each line (without its line break) with C(re.search);
          its first capture group is the value.
        type: str
        required: true
  mounts:
    description: Mount points to describe.
    type: list
    elements: dict
    default: []
    suboptions:
      name: {description: The name of the answer., type: str, required: true}
      path: {description: The mount point., type: path, required: true}
'''

EXAMPLES = r'''
- name: Fingerprint the token key, core's shared secret and the registry share
  registryops.harbor_ha.config_fingerprint:
    files:
      - {name: token key, path: /data/secret/core/private_key.pem}
    values:
      - {name: core/env CORE_SECRET, path: /opt/harbor/v2.15.0/harbor/common/config/core/env, regexp: '^CORE_SECRET=(.*)$'}
    mounts:
      - {name: registry share, path: /mnt/cephfs/harbor}
  register: fingerprint
'''

RETURN = r'''
fingerprint:
  description:
    - One answer per name of O(files), O(values) and O(mounts). A digest is C(sha256:<hex>); otherwise the answer
      says what was found instead.
    - "Files and values: C(sha256:...), C(missing) (no such file), C(unreadable: <reason>), or for a value
      C(no line matches) when no line matches."
    - "Mounts: C(<fstype> <source>) of the topmost mount at exactly that path, or C(not mounted)."
  returned: always
  type: dict
  sample:
    token key: "sha256:5f0c...e1"
    core/env CORE_SECRET: "sha256:9a1b...07"
    registry share: "ceph 10.0.0.10:6789,10.0.0.11:6789:/harbor"
'''

import hashlib
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

MISSING = 'missing'
NO_MATCH = 'no line matches'
NOT_MOUNTED = 'not mounted'


def digest(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def read(path):
    """The file's bytes, or the answer that replaces its digest."""
    try:
        with open(to_bytes(path), 'rb') as handle:
            return handle.read(), None
    except (IOError, OSError) as err:
        if not os.path.lexists(to_bytes(path)):
            return None, MISSING
        return None, 'unreadable: %s' % to_native(err.strerror or err)


def file_fingerprint(path, skip_comments=False):
    data, answer = read(path)
    if data is None:
        return answer
    if skip_comments:
        data = b''.join(line for line in data.splitlines(True) if not line.lstrip().startswith(b'#'))
    return digest(data)


def value_fingerprint(path, regexp):
    data, answer = read(path)
    if data is None:
        return answer
    pattern = re.compile(regexp)
    for line in to_native(data, errors='surrogate_or_strict').splitlines():
        match = pattern.search(line)
        if match:
            return digest(to_bytes(match.group(1), errors='surrogate_or_strict'))
    return NO_MATCH


def unescape_mountinfo(field):
    """mountinfo escapes space, tab, newline and backslash as octal (\\040 ...)."""
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def mount_fingerprint(path, mountinfo_text):
    """The topmost mount at exactly `path` (the last line in mountinfo order), as '<fstype> <source>'."""
    wanted = os.path.normpath(path)
    found = NOT_MOUNTED
    for line in mountinfo_text.splitlines():
        fields = line.split(' ')
        if '-' not in fields:
            continue
        sep = fields.index('-')
        if len(fields) < sep + 3 or len(fields) < 5:
            continue
        if os.path.normpath(unescape_mountinfo(fields[4])) == wanted:
            found = '%s %s' % (fields[sep + 1], unescape_mountinfo(fields[sep + 2]))
    return found


def main():
    entry = dict(name=dict(type='str', required=True), path=dict(type='path', required=True))
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', default=[],
                       options=dict(entry, skip_comments=dict(type='bool', default=False))),
            values=dict(type='list', elements='dict', default=[],
                        options=dict(entry, regexp=dict(type='str', required=True))),
            mounts=dict(type='list', elements='dict', default=[], options=entry),
        ),
        supports_check_mode=True,
    )
    fingerprint = {}
    names = [e['name'] for kind in ('files', 'values', 'mounts') for e in module.params[kind]]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        module.fail_json(msg='each name may be used once; used more than once: %s' % ', '.join(duplicates))
    for entry in module.params['files']:
        fingerprint[entry['name']] = file_fingerprint(entry['path'], entry['skip_comments'])
    for entry in module.params['values']:
        try:
            fingerprint[entry['name']] = value_fingerprint(entry['path'], entry['regexp'])
        except re.error as err:
            module.fail_json(msg='values: %s: regexp %r is not a valid regular expression: %s'
                             % (entry['name'], entry['regexp'], to_native(err)))
    if module.params['mounts']:
        mountinfo, answer = read('/proc/self/mountinfo')
        if mountinfo is None:
            module.fail_json(msg='cannot read /proc/self/mountinfo: %s' % answer)
        text = to_native(mountinfo, errors='surrogate_or_strict')
        for entry in module.params['mounts']:
            fingerprint[entry['name']] = mount_fingerprint(entry['path'], text)
    module.exit_json(changed=False, fingerprint=fingerprint)


if __name__ == '__main__':
    main()
