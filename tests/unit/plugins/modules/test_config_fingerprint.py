# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""config_fingerprint run as Ansible runs a module (a JSON args file), against a temporary directory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import hashlib
import json
import os
import subprocess
import sys

MODULE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'modules', 'config_fingerprint.py')
sys.path.insert(0, os.path.dirname(MODULE))
import config_fingerprint  # noqa: E402  pylint: disable=wrong-import-position


def run(tmp_path, check=False, **args):
    args_file = tmp_path / 'args.json'
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=check)}))
    proc = subprocess.run([sys.executable, MODULE, str(args_file)], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)


def sha(data):
    return 'sha256:' + hashlib.sha256(data).hexdigest()


def test_files_are_digested_and_missing_ones_said_so(tmp_path):
    (tmp_path / 'key.pem').write_bytes(b'-----BEGIN-----\nabc\n')
    result = run(tmp_path, files=[{'name': 'token key', 'path': str(tmp_path / 'key.pem')},
                                  {'name': 'gone', 'path': str(tmp_path / 'nope')}])
    assert result['changed'] is False
    assert result['fingerprint'] == {'token key': sha(b'-----BEGIN-----\nabc\n'), 'gone': 'missing'}


def test_comment_lines_can_be_left_out_so_a_host_name_in_a_header_does_not_count(tmp_path):
    (tmp_path / 'a.yml').write_text('# harbor1\nservices: {}\n  # note\n')
    (tmp_path / 'b.yml').write_text('# harbor2\nservices: {}\n')
    result = run(tmp_path, files=[{'name': 'a', 'path': str(tmp_path / 'a.yml'), 'skip_comments': True},
                                  {'name': 'b', 'path': str(tmp_path / 'b.yml'), 'skip_comments': True},
                                  {'name': 'b whole', 'path': str(tmp_path / 'b.yml')}])
    assert result['fingerprint']['a'] == result['fingerprint']['b'] == sha(b'services: {}\n')
    assert result['fingerprint']['b whole'] == sha(b'# harbor2\nservices: {}\n')


def test_a_value_is_the_digest_of_the_first_capture_group_of_the_first_matching_line(tmp_path):
    env = tmp_path / 'env'
    env.write_text('LOG_LEVEL=info\nCORE_SECRET=s3cr3t\nCORE_SECRET=later\n')
    result = run(tmp_path, values=[{'name': 'core', 'path': str(env), 'regexp': '^CORE_SECRET=(.*)$'},
                                   {'name': 'absent', 'path': str(env), 'regexp': '^CSRF_KEY=(.*)$'},
                                   {'name': 'no file', 'path': str(tmp_path / 'x'), 'regexp': '(.*)'}])
    assert result['fingerprint'] == {'core': sha(b's3cr3t'), 'absent': 'no line matches', 'no file': 'missing'}
    assert 's3cr3t' not in json.dumps(result)


def test_a_name_used_twice_and_a_bad_regexp_are_refused(tmp_path):
    twice = run(tmp_path, files=[{'name': 'x', 'path': '/etc/hostname'}], mounts=[{'name': 'x', 'path': '/'}])
    assert twice['failed'] and 'used more than once: x' in twice['msg']
    bad = run(tmp_path, values=[{'name': 'v', 'path': '/etc/hostname', 'regexp': '('}])
    assert bad['failed'] and 'v: regexp' in bad['msg']


def test_the_root_mount_is_found_and_a_plain_directory_is_not_mounted(tmp_path):
    result = run(tmp_path, mounts=[{'name': 'root', 'path': '/'}, {'name': 'tmp dir', 'path': str(tmp_path)}])
    assert result['fingerprint']['root'] != 'not mounted'
    assert result['fingerprint']['tmp dir'] == 'not mounted'


def test_mountinfo_is_parsed_with_escapes_and_the_topmost_mount_wins():
    mountinfo = '\n'.join([
        '36 35 98:0 / /mnt/ceph\\040fs rw,noatime master:1 - ext4 /dev/sda1 rw',
        '40 36 0:50 /harbor /mnt/ceph\\040fs rw - ceph 10.0.0.1:6789:/harbor rw,name=harbor',
        '41 36 0:51 / /mnt/other rw shared:2 - fuse.ceph-fuse ceph-fuse rw',
    ])
    assert config_fingerprint.mount_fingerprint('/mnt/ceph fs/', mountinfo) == 'ceph 10.0.0.1:6789:/harbor'
    assert config_fingerprint.mount_fingerprint('/mnt/other', mountinfo) == 'fuse.ceph-fuse ceph-fuse'
    assert config_fingerprint.mount_fingerprint('/mnt', mountinfo) == 'not mounted'
