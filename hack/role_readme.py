"""Render each role's variable table from meta/argument_specs.yml into its README.md.

The table lives between the markers <!-- BEGIN VARIABLES --> and <!-- END VARIABLES -->.
  python hack/role_readme.py          rewrite the tables
  python hack/role_readme.py --check  fail when a table is missing or out of date (make test runs this)
"""

import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN, END = '<!-- BEGIN VARIABLES -->', '<!-- END VARIABLES -->'


def cell(value):
    text = ' '.join(str(value).split())
    text = re.sub(r'[CVO]\(([^)]*)\)', r'`\1`', text)
    return text.replace('|', '\\|')


def table(options):
    rows = ['| variable | type | default | description |', '|---|---|---|---|']
    for name, spec in options.items():
        if spec.get('required'):
            default = '**required**'
        elif spec.get('no_log') and spec.get('default') not in ('', None):
            default = '(secret)'
        else:
            default = '`%s`' % yaml.safe_dump(spec.get('default'), default_flow_style=True, width=10000).strip().removesuffix('...').strip()
        kind = spec.get('type', 'str')
        if spec.get('elements'):
            kind += ' of ' + spec['elements']
        if spec.get('choices'):
            kind += ' (%s)' % ', '.join(str(c) for c in spec['choices'])
        desc = spec.get('description', '')
        desc = ' '.join(desc) if isinstance(desc, list) else desc
        rows.append('| `%s` | %s | %s | %s |' % (name, cell(kind), cell(default), cell(desc)))
    return '\n'.join(rows)


def main(check):
    stale = []
    for specs_file in sorted(ROOT.glob('roles/*/meta/argument_specs.yml')):
        role = specs_file.parent.parent
        readme = role / 'README.md'
        options = ((yaml.safe_load(specs_file.read_text()) or {}).get('argument_specs', {}).get('main', {})
                   .get('options') or {})
        block = '%s\n%s\n%s' % (BEGIN, table(options), END)
        text = readme.read_text() if readme.exists() else ''
        if BEGIN in text and END in text:
            new = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
        else:
            new = text.rstrip('\n') + '\n\n## Variables\n\n' + block + '\n'
        if new != text:
            stale.append(role.name)
            if not check:
                readme.write_text(new)
    if check and stale:
        print('README variable tables out of date (run python hack/role_readme.py): ' + ', '.join(stale))
        return 1
    print('%s README variable tables %s' % ('checked' if check else 'rendered', 'ok' if not stale or not check else ''))
    return 0


if __name__ == '__main__':
    sys.exit(main('--check' in sys.argv[1:]))
