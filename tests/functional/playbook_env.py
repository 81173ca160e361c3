# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The environment for the functional tests' own ansible-playbook runs (roles' templates and tasks rendered on
localhost): this interpreter, quiet output, and the collection found through build/collections."""

import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]


def ansible_env():
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING='0',
               ANSIBLE_INVENTORY_UNPARSED_WARNING='0', ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='0')
    env.setdefault('ANSIBLE_COLLECTIONS_PATH', os.pathsep.join([
        str(REPO / 'build' / 'collections'),
        str(pathlib.Path(sys.executable).parent.parent / 'lib' / ('python%d.%d' % sys.version_info[:2]) / 'site-packages')]))
    return env
