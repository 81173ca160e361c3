# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The offline validation of the AWX objects as code (hack/check_awx_config.py): the repository's own definitions
pass, and a misspelt option, an unknown playbook, a bad survey type and a dangling reference each fail, naming it."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import copy
import pathlib
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / 'hack'))

import check_awx_config  # noqa: E402  pylint: disable=wrong-import-position,import-error

CONFIG = check_awx_config.load_yaml(ROOT / 'awx' / 'vars' / 'controller.yml')


def _check_with(tmp_path, change):
    config = copy.deepcopy(CONFIG)
    change(config)
    path = tmp_path / 'controller.yml'
    path.write_text(yaml.safe_dump(config))
    return check_awx_config.check(ROOT, config_path=path)


def _template(config, name):
    return next(t for t in config['controller_templates'] if t['name'] == name)


def test_the_repository_definitions_are_valid():
    assert check_awx_config.check(ROOT) == []


def test_options_come_from_the_modules_own_argument_spec():
    options = check_awx_config.module_options('job_template')
    assert {'playbook', 'survey_spec', 'credentials', 'ask_limit_on_launch'} <= options
    assert 'playbok' not in options
    # aliases count as options too
    assert 'survey' in check_awx_config.module_options('workflow_job_template')


def test_a_misspelt_option_fails(tmp_path):
    def change(config):
        _template(config, 'Harbor HA: site')['ask_limit_on_lanuch'] = True
    assert _check_with(tmp_path, change) == [
        "controller_templates[Harbor HA: site]: 'ask_limit_on_lanuch' is not an option of awx.awx.job_template"]


def test_an_option_that_configure_yml_does_not_pass_on_fails(tmp_path):
    def change(config):
        _template(config, 'Harbor HA: verify')['forks'] = 10
    assert _check_with(tmp_path, change) == [
        "controller_templates[Harbor HA: verify]: 'forks' is not passed on by awx/configure.yml"]


@pytest.mark.parametrize('playbook, problem', [
    ('playbooks/nosuch.yml', "playbook 'playbooks/nosuch.yml' is not one AWX would list in the project"),
    # a task file: AWX does not list files under roles/ (nor tasks/, group_vars/, host_vars/, dot directories)
    ('roles/harbor/tasks/main.yml', "playbook 'roles/harbor/tasks/main.yml' is not one AWX would list in the project"),
])
def test_an_unknown_playbook_fails(tmp_path, playbook, problem):
    def change(config):
        _template(config, 'Harbor HA: verify')['playbook'] = playbook
    problems = _check_with(tmp_path, change)
    assert 'controller_templates[Harbor HA: verify]: ' + problem in problems
    # verify.yml now has no job template
    assert 'playbooks/verify.yml: no job template runs it (controller_templates)' in problems


def test_a_playbook_without_a_job_template_fails(tmp_path):
    def change(config):
        config['controller_templates'] = [t for t in config['controller_templates'] if t['name'] != 'Harbor HA: site']
        config['controller_workflows'] = []
    assert _check_with(tmp_path, change) == ['playbooks/site.yml: no job template runs it (controller_templates)']


def test_a_bad_survey_type_fails(tmp_path):
    def change(config):
        _template(config, 'Harbor HA: site')['survey_spec']['spec'][0]['type'] = 'select'
    problems = _check_with(tmp_path, change)
    assert problems == [
        "controller_templates[Harbor HA: site]: survey question 'harbor_log_level': type 'select' is not an AWX survey "
        "type (float, integer, multiplechoice, multiselect, password, text, textarea)"]


def test_a_survey_default_outside_its_choices_fails(tmp_path):
    def change(config):
        _template(config, 'Harbor HA: site')['survey_spec']['spec'][0]['default'] = 'verbose'
    assert _check_with(tmp_path, change) == [
        "controller_templates[Harbor HA: site]: survey question 'harbor_log_level': default 'verbose' is not one of "
        "its choices"]


@pytest.mark.parametrize('change, problem', [
    (lambda c: _template(c, 'Harbor HA: site')['credentials'].append('Harbor HA vault'),
     "controller_templates[Harbor HA: site]: credential 'Harbor HA vault' is not defined"),
    (lambda c: _template(c, 'Harbor HA: verify').update(project='Harbor'),
     "controller_templates[Harbor HA: verify]: project 'Harbor' is not defined"),
    (lambda c: c['controller_credentials'][1].update(credential_type='Harbor secrets'),
     "controller_credentials[Harbor HA secrets]: credential type 'Harbor secrets' is not defined"),
    (lambda c: c['controller_workflows'][0]['workflow_nodes'][1]['unified_job_template'].update(name='Harbor HA: check'),
     "controller_workflows[Harbor HA: deploy and verify] node 'verify': job template 'Harbor HA: check' is not defined"),
])
def test_a_dangling_reference_fails(tmp_path, change, problem):
    assert _check_with(tmp_path, change) == [problem]


def test_a_secret_of_the_example_inventory_that_no_credential_injects_fails(tmp_path):
    def change(config):
        del config['controller_credential_types'][0]['injectors']['extra_vars']['harbor_redis_password']
    assert _check_with(tmp_path, change) == [
        'inventories/example: harbor_redis_password is read from vault.yml, but no credential type injects it']


def test_an_injector_must_use_an_input_of_its_type(tmp_path):
    def change(config):
        config['controller_credential_types'][0]['injectors']['extra_vars']['harbor_admin_password'] = '{{ admin_pw }}'
    assert _check_with(tmp_path, change) == [
        "controller_credential_types[Harbor HA secrets]: injector extra_vars.harbor_admin_password uses 'admin_pw', "
        "which is not an input"]
