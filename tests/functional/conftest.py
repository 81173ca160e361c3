# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures: real registries, token services and nginx on loopback; the module run through ansible."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from registry_nodes import REGISTRY_BIN, NGINX_BIN, Lab, TLSMaterial, TokenKeyPair  # noqa: E402  pylint: disable=wrong-import-position

ADMIN_PASSWORD = 'Lab-Passw0rd-1'


def pytest_collection_modifyitems(config, items):  # pylint: disable=unused-argument
    missing = [p for p in (REGISTRY_BIN, NGINX_BIN) if not os.path.exists(p)]
    if missing:
        raise pytest.UsageError('functional tests need %s: run hack/bootstrap.sh' % ', '.join(missing))


@pytest.fixture(scope='session')
def keydir():
    path = tempfile.mkdtemp(prefix='login-matrix-keys-')
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='session')
def shared_key(keydir):
    return TokenKeyPair(os.path.join(keydir, 'shared'))


@pytest.fixture(scope='session')
def rogue_key(keydir):
    return TokenKeyPair(os.path.join(keydir, 'rogue'))


@pytest.fixture(scope='session')
def tls_material(keydir):
    return TLSMaterial(os.path.join(keydir, 'tls'), ['harbor.test'])


@pytest.fixture
def lab():
    instance = Lab()
    yield instance
    instance.close()


def run_module(args, check=False):
    """Runs registryops.harbor_ha.login_matrix through ansible (ad-hoc, json callback); returns its result dict."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK='ansible.posix.json', ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    argv = ['ansible', 'localhost', '-c', 'local', '-m', 'registryops.harbor_ha.login_matrix', '-a', json.dumps(args)]
    if check:
        argv.append('--check')
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('ansible did not return JSON (rc %s)\nstdout: %s\nstderr: %s' % (proc.returncode, proc.stdout, proc.stderr))
    return data['plays'][0]['tasks'][0]['hosts']['localhost']


@pytest.fixture
def login_matrix():
    return run_module
