"""Validate the AWX objects as code (awx/vars/controller.yml, applied by awx/configure.yml) offline.

Fails, with one line per problem, when:
- an item of a controller_* list carries a key that is not an option of the awx.awx module it feeds (read from that
  module's own argument_spec, in the awx.awx collection of the `ansible` package), or that awx/configure.yml does not
  pass on; or configure.yml passes an option the module does not have;
- a job template names a playbook AWX would not list in the project (AWX's own rule, awx/main/utils/ansible.py:
  a .yml/.yaml file outside roles/, tasks/, group_vars/, host_vars/ and dot directories, with a line that starts a
  play: `hosts:`, `include:` or `import_playbook:`), or a playbook under playbooks/ has no job template;
- a survey question has a type AWX does not know, or lacks what AWX needs (question_name, variable, choices);
- a project, inventory, credential, credential type, execution environment or job template named by another object
  is not defined (AWX's built-in credential types aside); a workflow node links to an unknown identifier;
- a credential type's injector uses an input it does not define, injects a variable the collection does not have,
  or a secret of inventories/example (a harbor_* setting read from vault.yml) is injected by no credential type.
The collection's variables: the cluster role's argument spec and the settings of inventories/example.

Usage: python hack/check_awx_config.py [--root DIR]   (exit 1 on problems)
"""

import argparse
import ast
import codecs
import os
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent

# AWX's survey question types (awx/main/models/mixins.py, SurveyJobTemplateMixin) and its built-in credential types
# that this configuration may name.
SURVEY_TYPES = {'text', 'textarea', 'password', 'integer', 'float', 'multiplechoice', 'multiselect'}
BUILTIN_CREDENTIAL_TYPES = {'Machine', 'Source Control', 'Vault', 'Container Registry'}
# awx/main/utils/ansible.py
VALID_PLAYBOOK_RE = re.compile(r'^\s*?-?\s*?(?:hosts|include|import_playbook):\s*?.*?$')


class _Loader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """SafeLoader that reads Ansible's !unsafe and !vault tags as plain strings."""


_Loader.add_constructor('!unsafe', lambda loader, node: loader.construct_scalar(node))
_Loader.add_constructor('!vault', lambda loader, node: loader.construct_scalar(node))


def load_yaml(path):
    with open(path, encoding='utf-8') as handle:
        return yaml.load(handle, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)


def awx_modules_dir():
    """The modules of the awx.awx collection that the `ansible` package ships."""
    import ansible_collections.awx.awx  # pylint: disable=import-outside-toplevel
    return pathlib.Path(list(ansible_collections.awx.awx.__path__)[0]) / 'plugins' / 'modules'


def module_options(module, modules_dir=None):
    """Option names (and aliases) of awx.awx.<module>, from the `argument_spec = dict(...)` of its source."""
    path = (modules_dir or awx_modules_dir()) / ('%s.py' % module)
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == 'argument_spec' for t in node.targets)
                and isinstance(node.value, ast.Call) and getattr(node.value.func, 'id', '') == 'dict'):
            names = set()
            for keyword in node.value.keywords:
                names.add(keyword.arg)
                if isinstance(keyword.value, ast.Call):
                    for sub in keyword.value.keywords:
                        if sub.arg == 'aliases' and isinstance(sub.value, ast.List):
                            names.update(elt.value for elt in sub.value.elts if isinstance(elt, ast.Constant))
            return names
    raise ValueError('%s: no argument_spec = dict(...) found' % path)


def configure_tasks(configure_path):
    """{list variable: (module, set of options the task passes)} for each awx.awx task of configure.yml."""
    tasks = {}
    for play in load_yaml(configure_path) or []:
        for task in play.get('tasks') or []:
            modules = [k for k in task if k.startswith('awx.awx.')]
            if not modules:
                continue
            match = re.fullmatch(r'\{\{\s*(\w+)\s*\}\}', str(task.get('loop', '')))
            if not match:
                continue
            tasks[match.group(1)] = (modules[0].split('.', 2)[2], set(task[modules[0]]))
    return tasks


def skip_directory(relative_directory_path):
    """AWX: directories whose files are never listed as playbooks."""
    elements = relative_directory_path.split(os.sep)
    return ('roles' in elements or 'tasks' in elements or 'group_vars' in elements or 'host_vars' in elements
            or any(e.startswith('.') for e in elements if e not in ('', '.')))


def could_be_playbook(path):
    if path.suffix not in ('.yml', '.yaml'):
        return False
    with codecs.open(str(path), 'r', encoding='utf-8', errors='ignore') as handle:
        for number, line in enumerate(handle):
            if VALID_PLAYBOOK_RE.match(line) or (number == 0 and line.startswith('$ANSIBLE_VAULT;')):
                return True
    return False


def awx_playbooks(project_root, ignore=('.venv', 'build', '.cache', 'tests/output')):
    """The playbooks AWX would list for this project (paths relative to its root)."""
    found = set()
    root = pathlib.Path(project_root)
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel != '.' and (skip_directory(rel) or rel in ignore):
            dirnames[:] = []
            continue
        for name in filenames:
            if could_be_playbook(pathlib.Path(dirpath) / name):
                found.add(os.path.normpath(os.path.join(rel, name)))
    return found


def _names(items):
    return {item.get('name') for item in items or []}


def _survey_problems(where, survey):
    problems = []
    if not isinstance(survey, dict) or not isinstance(survey.get('spec'), list):
        return ['%s: survey_spec needs name, description and a list spec' % where]
    for key in ('name', 'description'):
        if key not in survey:
            problems.append('%s: survey_spec has no %s' % (where, key))
    for question in survey['spec']:
        label = '%s: survey question %r' % (where, question.get('variable'))
        for key in ('question_name', 'variable', 'type', 'required'):
            if key not in question:
                problems.append('%s has no %s' % (label, key))
        if question.get('type') not in SURVEY_TYPES:
            problems.append('%s: type %r is not an AWX survey type (%s)'
                            % (label, question.get('type'), ', '.join(sorted(SURVEY_TYPES))))
        if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', str(question.get('variable', ''))):
            problems.append('%s: variable is not a valid Ansible variable name' % label)
        if question.get('type') in ('multiplechoice', 'multiselect'):
            choices = question.get('choices')
            if isinstance(choices, str):
                choices = choices.split('\n')
            if not choices:
                problems.append('%s: a %s question needs choices' % (label, question['type']))
            elif 'default' in question and question['default'] not in ('', None):
                defaults = question['default'].split('\n') if question['type'] == 'multiselect' else [question['default']]
                if set(defaults) - set(choices):
                    problems.append('%s: default %r is not one of its choices' % (label, question['default']))
    return problems


def check(root=ROOT, config_path=None, configure_path=None, modules_dir=None):
    """Every problem found, as a list of lines (empty: valid)."""
    root = pathlib.Path(root)
    config = load_yaml(config_path or root / 'awx' / 'vars' / 'controller.yml') or {}
    tasks = configure_tasks(configure_path or root / 'awx' / 'configure.yml')
    problems = []

    # Keys: every item key is an option of its module and passed on by configure.yml.
    for variable, items in sorted(config.items()):
        if variable not in tasks:
            problems.append('%s: no awx.awx task of awx/configure.yml loops over it' % variable)
            continue
        module, passed = tasks[variable]
        options = module_options(module, modules_dir)
        for option in sorted(passed - options):
            problems.append('awx/configure.yml: %r is not an option of awx.awx.%s' % (option, module))
        for item in items or []:
            for key in sorted(item):
                if key not in options:
                    problems.append('%s[%s]: %r is not an option of awx.awx.%s' % (variable, item.get('name'), key, module))
                elif key not in passed:
                    problems.append('%s[%s]: %r is not passed on by awx/configure.yml' % (variable, item.get('name'), key))

    credential_types = _names(config.get('controller_credential_types')) | BUILTIN_CREDENTIAL_TYPES
    credentials = _names(config.get('controller_credentials'))
    environments = _names(config.get('controller_execution_environments'))
    projects = _names(config.get('controller_projects'))
    inventories = _names(config.get('controller_inventories'))
    templates = config.get('controller_templates') or []

    def resolve(where, kind, name, known):
        if name is not None and name not in known:
            problems.append('%s: %s %r is not defined' % (where, kind, name))

    for item in config.get('controller_credentials') or []:
        resolve('controller_credentials[%s]' % item.get('name'), 'credential type', item.get('credential_type'),
                credential_types)
    for item in config.get('controller_projects') or []:
        resolve('controller_projects[%s]' % item.get('name'), 'execution environment', item.get('default_environment'),
                environments)
    for item in config.get('controller_inventory_sources') or []:
        where = 'controller_inventory_sources[%s]' % item.get('name')
        resolve(where, 'inventory', item.get('inventory'), inventories)
        resolve(where, 'project', item.get('source_project'), projects)
        resolve(where, 'execution environment', item.get('execution_environment'), environments)

    # Playbooks: what AWX would list; every playbook of playbooks/ has a job template.
    listed = awx_playbooks(root)
    used = set()
    for item in templates:
        where = 'controller_templates[%s]' % item.get('name')
        resolve(where, 'project', item.get('project'), projects)
        resolve(where, 'inventory', item.get('inventory'), inventories)
        resolve(where, 'execution environment', item.get('execution_environment'), environments)
        for credential in item.get('credentials') or []:
            resolve(where, 'credential', credential, credentials)
        playbook = item.get('playbook')
        used.add(playbook)
        if playbook not in listed:
            problems.append('%s: playbook %r is not one AWX would list in the project' % (where, playbook))
        if item.get('survey_enabled') or 'survey_spec' in item:
            problems.extend(_survey_problems(where, item.get('survey_spec')))
    for playbook in sorted(p for p in listed if p.startswith('playbooks' + os.sep)):
        if playbook not in used:
            problems.append('%s: no job template runs it (controller_templates)' % playbook)

    template_names = _names(templates)
    for item in config.get('controller_workflows') or []:
        where = 'controller_workflows[%s]' % item.get('name')
        resolve(where, 'inventory', item.get('inventory'), inventories)
        if item.get('survey_enabled') or 'survey_spec' in item:
            problems.extend(_survey_problems(where, item.get('survey_spec')))
        nodes = item.get('workflow_nodes') or []
        identifiers = {node.get('identifier') for node in nodes}
        for node in nodes:
            target = node.get('unified_job_template') or {}
            if target.get('type') != 'job_template':
                problems.append('%s: node %r runs a %r, not a job_template' % (where, node.get('identifier'), target.get('type')))
            resolve('%s node %r' % (where, node.get('identifier')), 'job template', target.get('name'), template_names)
            for kind, links in (node.get('related') or {}).items():
                if kind not in ('success_nodes', 'failure_nodes', 'always_nodes'):
                    continue
                for link in links or []:
                    if link.get('identifier') not in identifiers:
                        problems.append('%s node %r: %s links to unknown identifier %r'
                                        % (where, node.get('identifier'), kind, link.get('identifier')))

    # Credential types: injectors use their own inputs and inject the collection's variables; inventories/example's
    # vault-fed settings all come from a credential.
    cluster_specs = load_yaml(root / 'roles' / 'cluster' / 'meta' / 'argument_specs.yml') or {}
    collection_vars = set(((cluster_specs.get('argument_specs') or {}).get('main') or {}).get('options') or {})
    example = load_yaml(root / 'inventories' / 'example' / 'group_vars' / 'all' / 'harbor.yml') or {}
    collection_vars |= set(example)   # what an operator's inventory sets (some only site.yml reads)
    injected = set()
    for item in config.get('controller_credential_types') or []:
        where = 'controller_credential_types[%s]' % item.get('name')
        fields = {field.get('id') for field in (item.get('inputs') or {}).get('fields') or []}
        for required in (item.get('inputs') or {}).get('required') or []:
            if required not in fields:
                problems.append('%s: required input %r is not a field' % (where, required))
        for kind, values in (item.get('injectors') or {}).items():
            for name, template in (values or {}).items():
                for used_input in re.findall(r'\{\{\s*(\w+)\s*\}\}', str(template)):
                    if used_input not in fields:
                        problems.append('%s: injector %s.%s uses %r, which is not an input' % (where, kind, name, used_input))
                if kind == 'extra_vars':
                    injected.add(name)
                    if name not in collection_vars:
                        problems.append('%s: injects %r, which is not a variable of the collection' % (where, name))
    for name, value in sorted(example.items()):
        if re.search(r'\{\{\s*vault_', str(value)) and name not in injected:
            problems.append('inventories/example: %s is read from vault.yml, but no credential type injects it' % name)
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--root', default=str(ROOT), help='the project root (default: this repository)')
    args = parser.parse_args(argv)
    problems = check(pathlib.Path(args.root))
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print('awx/vars/controller.yml: every object valid against the awx.awx modules, playbooks, surveys and references')
    return 0


if __name__ == '__main__':
    sys.exit(main())
