"""Fail when a role's defaults and its meta/argument_specs.yml drift apart, when a role lacks a README
that lists every documented variable, or when a template lacks the ansible_managed header."""

import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
problems = []
roles = sorted(p for p in (ROOT / 'roles').iterdir() if p.is_dir()) if (ROOT / 'roles').is_dir() else []
for role in roles:
    defaults_file = role / 'defaults' / 'main.yml'
    specs_file = role / 'meta' / 'argument_specs.yml'
    readme = role / 'README.md'
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.exists() else {}
    if not specs_file.exists():
        problems.append('%s: meta/argument_specs.yml is missing' % role.name)
        continue
    specs = yaml.safe_load(specs_file.read_text()) or {}
    entry = (specs.get('argument_specs') or {}).get('main') or {}
    options = entry.get('options') or {}
    for name in sorted(set(defaults) - set(options)):
        problems.append('%s: %s is in defaults/main.yml but not documented in meta/argument_specs.yml' % (role.name, name))
    for name in sorted(set(options) - set(defaults)):
        if not options[name].get('required'):
            problems.append('%s: %s is documented as optional in argument_specs but has no default in defaults/main.yml'
                            % (role.name, name))
    # The cluster role holds the collection's own settings, named after the collection's subject: harbor_*.
    prefix = 'harbor_' if role.name == 'cluster' else role.name + '_'
    for name in sorted(options):
        if not name.startswith(prefix):
            problems.append('%s: variable %s is not prefixed with the role name' % (role.name, name))
        if not options[name].get('description'):
            problems.append('%s: %s has no description in argument_specs' % (role.name, name))
    if not readme.exists():
        problems.append('%s: README.md is missing' % role.name)
    else:
        text = readme.read_text()
        for name in sorted(options):
            if name not in text:
                problems.append('%s: README.md does not mention %s' % (role.name, name))
    for template in sorted((role / 'templates').rglob('*.j2')) if (role / 'templates').is_dir() else []:
        if template.name.endswith('.json.j2'):
            continue  # JSON has no comments: daemon.json and friends are managed as data instead
        head = template.read_text().lstrip()[:200]
        if 'ansible_managed' not in head:
            problems.append('%s: template %s does not start with the ansible_managed header'
                            % (role.name, template.relative_to(role)))

for problem in problems:
    print('SPEC DRIFT: ' + problem)
print('%d roles checked, %d problems' % (len(roles), len(problems)))
sys.exit(1 if problems else 0)
