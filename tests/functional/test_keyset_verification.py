# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyset role verifies the key set (reads every key and certificate) only when its files differ from what the
last successful verification saw, or when the server certificate has expired since: site.yml --tags keyset on a
copy of inventories/example, as an operator runs it, on the controller only."""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from playbook_env import REPO, ansible_env

VERIFY_TASK = 'Read the token signing key'


def run_keyset(inventory):
    proc = subprocess.run([str(pathlib.Path(sys.executable).parent / 'ansible-playbook'), '-i', str(inventory),
                           str(REPO / 'playbooks' / 'site.yml'), '--tags', 'keyset'],
                          cwd=str(REPO), env=ansible_env(), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    task = re.search(r'TASK \[[^\]]*%s\][^\n]*\n(\w+):' % re.escape(VERIFY_TASK), proc.stdout)
    assert task, proc.stdout[-3000:]
    changed = int(re.search(r'^localhost\s+:.*changed=(\d+)', proc.stdout, re.M).group(1))
    return task.group(1), changed


@pytest.fixture(scope='module')
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp('keyset') / 'prod'
    shutil.copytree(str(REPO / 'inventories' / 'example'), str(path))
    return path


def test_a_new_key_set_is_verified_and_an_unchanged_one_is_not(inventory):
    assert run_keyset(inventory)[0] == 'ok'
    stamp = inventory / 'keyset' / '.verified'
    assert stamp.is_file() and oct(stamp.stat().st_mode & 0o777) == '0o600'
    assert run_keyset(inventory) == ('skipping', 0)


def test_a_changed_file_is_verified_again(inventory):
    run_keyset(inventory)
    cert = inventory / 'keyset' / 'tls' / 'server.crt'
    os.utime(str(cert), (cert.stat().st_atime, cert.stat().st_mtime + 10))
    assert run_keyset(inventory) == ('ok', 1)
    assert run_keyset(inventory) == ('skipping', 0)


def test_an_expired_server_certificate_is_verified_again(inventory):
    run_keyset(inventory)
    stamp = inventory / 'keyset' / '.verified'
    fingerprint = stamp.read_text().split()[0]
    stamp.write_text('%s 20200101000000Z\n' % fingerprint)
    assert run_keyset(inventory) == ('ok', 1)
    assert stamp.read_text().split()[0] == fingerprint and stamp.read_text().split()[1] > '2026'
