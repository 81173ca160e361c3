# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment files, offline: ansible-builder's introspection resolves the collection's own
meta/execution-environment.yml from the collection root (it failed with FileNotFoundError before);
ee/execution-environment.yml pins what requirements.txt pins, declares the collection's own dependencies line for
line (it installs the collection after them, in its last step, so introspection does not see it) and installs the
tarball the build copies in."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import pathlib
import shutil
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
BUILDER = str(pathlib.Path(sys.executable).parent / 'ansible-builder')


def _lines(path):
    return [line.split('#')[0].strip() for line in path.read_text().splitlines() if line.split('#')[0].strip()]


def _pins():
    return dict(line.split('==') for line in _lines(ROOT / 'requirements.txt'))


def test_introspection_resolves_the_collections_own_dependencies(tmp_path):
    collection = tmp_path / 'ansible_collections' / 'registryops' / 'harbor_ha'
    collection.parent.mkdir(parents=True)
    collection.symlink_to(ROOT)
    proc = subprocess.run([BUILDER, 'introspect', '--sanitize', str(tmp_path)], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    data = yaml.safe_load(proc.stdout)
    strip = [entry.split('  # from collection')[0] for entry in data['python']]
    assert strip == [' '.join(line.split()) for line in _lines(ROOT / 'meta' / 'ee-requirements.txt')]
    system = [entry.split('  # from collection')[0] for entry in data['system']]
    assert system == _lines(ROOT / 'meta' / 'ee-bindep.txt')


def test_the_ee_pins_what_ci_tests_with_and_declares_the_collections_own_dependencies():
    definition = yaml.safe_load((ROOT / 'ee' / 'execution-environment.yml').read_text())
    pins = _pins()
    dependencies = definition['dependencies']
    assert definition['version'] == 3
    assert dependencies['ansible_core']['package_pip'] == 'ansible-core==' + pins['ansible-core']
    assert dependencies['ansible_runner']['package_pip'] == 'ansible-runner==' + pins['ansible-runner']
    assert dependencies['python'] == ['ansible==' + pins['ansible']] + [' '.join(line.split()) for line in _lines(ROOT / 'meta' / 'ee-requirements.txt')]
    assert dependencies['system'] == _lines(ROOT / 'meta' / 'ee-bindep.txt')
    assert 'galaxy' not in dependencies, 'the collection is installed in the last step, not by the galaxy stage'


def test_the_collection_is_installed_last_without_dependencies_from_the_tarball_it_copies_in():
    definition = yaml.safe_load((ROOT / 'ee' / 'execution-environment.yml').read_text())
    copied = definition['additional_build_files'][0]
    tarball = pathlib.Path(copied['src']).name
    steps = definition['additional_build_steps']
    assert list(steps) == ['append_final']
    copy, install = steps['append_final']
    source, target = copy.split()[1:]
    assert copy.startswith('COPY ') and source == '_build/%s/%s' % (copied['dest'], tarball)
    assert install.startswith('RUN ansible-galaxy collection install --no-deps ') and target in install.split()


def test_ansible_builder_creates_the_build_context_offline(tmp_path):
    ee = tmp_path / 'ee'
    shutil.copytree(str(ROOT / 'ee'), str(ee), ignore=shutil.ignore_patterns('context', 'collections'))
    (ee / 'collections').mkdir()
    (ee / 'collections' / 'registryops-harbor_ha.tar.gz').write_bytes(b'stand-in')
    proc = subprocess.run([BUILDER, 'create', '-f', str(ee / 'execution-environment.yml'), '-c', str(tmp_path / 'ctx'),
                           '--output-filename', 'Dockerfile'], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / 'ctx' / '_build' / 'collections' / 'registryops-harbor_ha.tar.gz').read_bytes() == b'stand-in'
    dockerfile = (tmp_path / 'ctx' / 'Dockerfile').read_text()
    assert 'ARG PYCMD="/usr/bin/python3.11"' in dockerfile
    # Every dependency is installed before the collection: the layers above its COPY do not change with it.
    final = dockerfile[dockerfile.index('FROM base AS final'):]
    assert final.index('install-from-bindep') < final.index('COPY _build/collections/') < final.index('ansible-galaxy collection install')
    assert 'FROM base AS galaxy' not in dockerfile
