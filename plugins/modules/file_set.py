#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

DOCUMENTATION = r'''
---
module: file_set
short_description: Make several small files and their directories exactly so (content, owner, mode), in one call
version_added: 0.5.0
description:
  - Creates the O(directories) and writes the O(files) whose content, owner, group or mode differ, in one module run.
    The harbor role places a dozen key files on every node on every run; one M(ansible.builtin.copy) per file costs
    two module runs per file and node even when nothing changes.
  - Content is passed inline (text, for keys, certificates and secrets read on the controller with
    C(lookup('ansible.builtin.file', path, rstrip=false))); files are written atomically. Use C(no_log) for secrets.
  - Nothing is ever removed.
author:
  - registryops maintainers (@registryops)
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: none
    description: Contents are secrets; only the changed paths are returned.
options:
  directories:
    description: Directories to create (with their parents) and keep at this owner, group and mode, before the files.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: The directory., type: path, required: true}
      owner: {description: Owner (name or uid)., type: str, required: true}
      group: {description: Group (name or gid)., type: str, required: true}
      mode: {description: Octal mode as a string (C("0700"))., type: str, required: true}
  files:
    description: The files.
    type: list
    elements: dict
    default: []
    suboptions:
      dest: {description: The file., type: path, required: true}
      content: {description: Its whole content (never logged)., type: str, required: true}
      owner: {description: Owner (name or uid)., type: str, required: true}
      group: {description: Group (name or gid)., type: str, required: true}
      mode: {description: Octal mode as a string (C("0600"))., type: str, required: true}
'''

EXAMPLES = r'''
- name: Place the shared token key pair
  registryops.harbor_ha.file_set:
    directories:
      - {path: /data/secret/core, owner: "10000", group: "10000", mode: "0700"}
    files:
      - dest: /data/secret/core/private_key.pem
        content: "{{ lookup('ansible.builtin.file', harbor_keyset.paths.token_key, rstrip=false) }}"
        owner: "10000"
        group: "10000"
        mode: "0600"
  no_log: true
'''

RETURN = r'''
changed_paths:
  description: The directories and files created or changed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
'''

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native


def resolve_id(value, lookup, kind):
    """A user or group name or number as a numeric id."""
    text = str(value)
    if text.isdigit():
        return int(text)
    try:
        return lookup(text)[2]
    except KeyError:
        raise ValueError('no such %s: %s' % (kind, text))


def wanted(entry):
    return (resolve_id(entry['owner'], pwd.getpwnam, 'user'), resolve_id(entry['group'], grp.getgrnam, 'group'),
            int(entry['mode'], 8))


def differs(path, uid, gid, mode):
    info = os.lstat(path)
    return (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) != (uid, gid, mode)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='path', required=True), owner=dict(type='str', required=True),
                group=dict(type='str', required=True), mode=dict(type='str', required=True))),
            files=dict(type='list', elements='dict', default=[], options=dict(
                dest=dict(type='path', required=True), content=dict(type='str', required=True, no_log=True),
                owner=dict(type='str', required=True), group=dict(type='str', required=True),
                mode=dict(type='str', required=True))),
        ),
        supports_check_mode=True,
    )
    changed = []
    try:
        for entry in module.params['directories']:
            path = entry['path']
            uid, gid, mode = wanted(entry)
            if not os.path.isdir(path):
                changed.append(path)
                if not module.check_mode:
                    os.makedirs(path, mode)
                    os.chown(path, uid, gid)
                    os.chmod(path, mode)
            elif differs(path, uid, gid, mode):
                changed.append(path)
                if not module.check_mode:
                    os.chown(path, uid, gid)
                    os.chmod(path, mode)
        for entry in module.params['files']:
            dest = entry['dest']
            uid, gid, mode = wanted(entry)
            content = to_bytes(entry['content'])
            current = None
            if os.path.isfile(dest):
                with open(dest, 'rb') as handle:
                    current = handle.read()
            if current == content:
                if differs(dest, uid, gid, mode):
                    changed.append(dest)
                    if not module.check_mode:
                        os.chown(dest, uid, gid)
                        os.chmod(dest, mode)
                continue
            changed.append(dest)
            if module.check_mode:
                continue
            directory = os.path.dirname(dest)
            if not os.path.isdir(directory):
                module.fail_json(msg='%s: its directory does not exist (list it under directories)' % dest)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix='.file_set.')
            try:
                with os.fdopen(fd, 'wb') as handle:
                    handle.write(content)
                os.chown(tmp, uid, gid)
                os.chmod(tmp, mode)
                os.rename(tmp, dest)
            except Exception:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
    except (OSError, ValueError) as err:
        module.fail_json(msg=to_native(err), changed_paths=changed)
    module.exit_json(changed=bool(changed), changed_paths=changed)


if __name__ == '__main__':
    main()
