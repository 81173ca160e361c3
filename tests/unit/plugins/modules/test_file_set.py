# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""file_set run as Ansible runs a module (a JSON args file), against a temporary directory."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import json
import os
import stat
import subprocess
import sys

import pytest

MODULE = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins', 'modules', 'file_set.py')
ME = (os.getuid(), os.getgid())


def run(tmp_path, check=False, **args):
    args_file = tmp_path / 'args.json'
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=check)}))
    proc = subprocess.run([sys.executable, MODULE, str(args_file)], capture_output=True, text=True, check=False)
    return json.loads(proc.stdout)


def entry(path, mode, key='dest', **extra):
    return dict({key: str(path), 'owner': str(ME[0]), 'group': str(ME[1]), 'mode': mode}, **extra)


def test_creates_directories_and_files_then_changes_nothing(tmp_path):
    secret_dir = tmp_path / 'secret' / 'core'
    args = {'directories': [entry(secret_dir, '0700', key='path')],
            'files': [entry(secret_dir / 'key.pem', '0600', content='-----BEGIN-----\nabc\n')]}
    first = run(tmp_path, **args)
    assert first['changed'] and first['changed_paths'] == [str(secret_dir), str(secret_dir / 'key.pem')]
    assert (secret_dir / 'key.pem').read_text() == '-----BEGIN-----\nabc\n'
    assert stat.S_IMODE(os.stat(secret_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(secret_dir / 'key.pem').st_mode) == 0o600
    assert run(tmp_path, **args) == {'changed': False, 'changed_paths': [], 'invocation': run(tmp_path, **args)['invocation']}


def test_a_changed_content_or_mode_is_put_back(tmp_path):
    target = tmp_path / 'secretkey'
    target.write_text('foreign')
    os.chmod(target, 0o644)
    result = run(tmp_path, files=[entry(target, '0600', content='shared')])
    assert result['changed_paths'] == [str(target)]
    assert target.read_text() == 'shared' and stat.S_IMODE(os.stat(target).st_mode) == 0o600
    os.chmod(target, 0o640)
    assert run(tmp_path, files=[entry(target, '0600', content='shared')])['changed_paths'] == [str(target)]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_check_mode_reports_and_writes_nothing(tmp_path):
    target = tmp_path / 'new' / 'file'
    result = run(tmp_path, check=True, directories=[entry(target.parent, '0755', key='path')],
                 files=[entry(target, '0644', content='x')])
    assert result['changed'] and not target.parent.exists()


def test_the_content_never_appears_in_the_result(tmp_path):
    result = run(tmp_path, files=[entry(tmp_path / 'k', '0600', content='TOPSECRET-VALUE')])
    assert 'TOPSECRET-VALUE' not in json.dumps(result)


@pytest.mark.parametrize('owner', ['no-such-user-here'])
def test_an_unknown_owner_fails_naming_it(tmp_path, owner):
    result = run(tmp_path, files=[dict(entry(tmp_path / 'k', '0600', content='x'), owner=owner)])
    assert result.get('failed') and owner in result['msg']
