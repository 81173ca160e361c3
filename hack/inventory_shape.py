"""Check that the lab inventories have the shape of inventories/example (same variable names).

The lab must be driven by the inputs a production inventory gives, so the lab's group_vars may only set
variables that the example documents (set there, or shown commented out as an option), and must set every
variable the example sets. Lab-only facts of the "existing infrastructure" are prefixed ``lab_`` and are
ignored. Prints the differences and exits 1 when there are any.
"""

import glob
import os
import re
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, 'inventories', 'example', 'group_vars', 'all')
LABS = {
    'default': os.path.join(ROOT, 'tests', 'lab', 'group_vars', 'all'),
    'legacy': os.path.join(ROOT, 'tests', 'lab', 'legacy', 'group_vars', 'all'),
    'bench': os.path.join(ROOT, 'tests', 'lab', 'bench', 'group_vars', 'all'),
}
COMMENTED_KEY = re.compile(r'^#\s*([a-z_][a-z0-9_]*):(\s|$)')


def keys_of(directory):
    """Return (set keys, commented-out keys) of every YAML file in a group_vars directory."""
    active, commented = set(), set()
    files = sorted(glob.glob(os.path.join(directory, '*.yml')))
    if not files:
        sys.exit('no group_vars files under %s' % directory)
    for path in files:
        with open(path, encoding='utf-8') as handle:
            text = handle.read()
        data = yaml.safe_load(text) or {}
        active.update(data)
        commented.update(m.group(1) for m in map(COMMENTED_KEY.match, text.splitlines()) if m)
    return active, commented - active


def main():
    example_set, example_optional = keys_of(EXAMPLE)
    errors = []
    for name, directory in LABS.items():
        lab_set = {k for k in keys_of(directory)[0] if not k.startswith('lab_')}
        unknown = sorted(lab_set - example_set - example_optional)
        missing = sorted(example_set - lab_set)
        if unknown:
            errors.append('lab %s sets variables inventories/example does not show: %s' % (name, ', '.join(unknown)))
        if missing:
            errors.append('lab %s does not set variables inventories/example sets: %s' % (name, ', '.join(missing)))
        print('inventory shape: lab %s sets %d variables, all shown in inventories/example' % (name, len(lab_set))
              if not unknown and not missing else 'inventory shape: lab %s differs' % name)
    for error in errors:
        print('ERROR: ' + error)
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
