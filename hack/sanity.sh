#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection placed where ansible-test needs it
# (ansible_collections/registryops/harbor_ha). ansible-test gives each sanity test its own virtualenv
# with the versions it pins, so the project's virtualenv stays as requirements.txt says.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEST=$ROOT/build/sanity/ansible_collections/registryops/harbor_ha
rm -rf "$DEST"
mkdir -p "$DEST"
# The files git would ship (tracked + new, not ignored): what CI sees on a clean clone.
git ls-files -z --cached --others --exclude-standard | rsync -a --from0 --files-from=- ./ "$DEST/"
cd "$DEST"
git init -q . && git add -A >/dev/null   # ansible-test lists files through git when present
# ansible-test bootstraps pip in its sanity virtualenvs with a script from a host this network cannot
# reach: put our offline stand-in where it looks for a cached copy.
PIPVER=$("$ROOT/.venv/bin/python" - <<'PY'
import ansible_test._internal.python_requirements as r, inspect, re
print(re.search(r"pip='([0-9.]+)'", inspect.getsource(r.get_venv_packages)).group(1))
PY
)
CACHE=$HOME/.ansible/test/cache/get_pip_${PIPVER//./_}.py
if ! cmp -s "$ROOT/hack/ansible_test_get_pip.py" "$CACHE"; then
  mkdir -p "$(dirname "$CACHE")" && cp "$ROOT/hack/ansible_test_get_pip.py" "$CACHE"
fi
PYVER=$("$ROOT/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
"$ROOT/.venv/bin/ansible-test" sanity --python "$PYVER" --color no "$@"
