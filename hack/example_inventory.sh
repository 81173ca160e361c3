#!/usr/bin/env bash
# The README's quick start, as a new operator runs it, on a copy of inventories/example: the inventory
# parses, site.yml and verify.yml pass --syntax-check, and the plays that need no node (the key set on the
# controller) run against it: the key set lands in <inventory>/keyset, keys 0600, and a second run changes
# nothing. Then the lab inventories are checked to have the example's shape (hack/inventory_shape.py).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-$ROOT/.venv/bin}
work=$(mktemp -d /tmp/harbor-ha-example.XXXXXX)
trap 'rm -rf "$work"' EXIT
inv=$work/prod
cp -r inventories/example "$inv"
export ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1 ANSIBLE_RETRY_FILES_ENABLED=0

log() { printf '==> example inventory: %s\n' "$*"; }
fail() { printf 'example inventory check FAILED: %s\n' "$*" >&2; exit 1; }

log "ansible-inventory --list"
"$BIN/ansible-inventory" -i "$inv" --list >"$work/list.json"
"$BIN/python" - "$work/list.json" <<'PY'
import json, sys
inv = json.load(open(sys.argv[1]))
for group in ('harbor_nodes', 'harbor_lb', 'registry_clients'):
    hosts = inv.get(group, {}).get('hosts', [])
    if not hosts:
        sys.exit('group %s has no hosts in the example inventory' % group)
print('groups: ' + ', '.join('%s=%d' % (g, len(inv[g]['hosts'])) for g in ('harbor_nodes', 'harbor_lb', 'registry_clients')))
PY

for playbook in site verify; do
  log "--syntax-check playbooks/$playbook.yml"
  "$BIN/ansible-playbook" -i "$inv" "playbooks/$playbook.yml" --syntax-check >/dev/null
done

# The key set play runs on the controller only: the quick start's first real step.
for run in first second; do
  log "site.yml --tags keyset ($run run)"
  if ! "$BIN/ansible-playbook" -i "$inv" playbooks/site.yml --tags keyset >"$work/keyset-$run.log" 2>&1; then
    cat "$work/keyset-$run.log" >&2
    fail "site.yml --tags keyset failed on the example inventory ($run run)"
  fi
  recap=$(grep -E '^localhost +:' "$work/keyset-$run.log" || true)
  echo "    $recap"
  if [ "$run" = second ] && ! grep -qE 'changed=0 .*failed=0' <<<"$recap"; then
    fail "the second key set run changed something: $recap"
  fi
done
for f in token/private_key.pem token/root.crt secrets/secretkey tls/ca.key tls/server.key tls/server.crt; do
  [ -s "$inv/keyset/$f" ] || fail "the key set has no $f under the inventory ($inv/keyset)"
done
mode=$(stat -c '%a' "$inv/keyset/token/private_key.pem")
[ "$mode" = 600 ] || fail "token/private_key.pem has mode $mode, expected 600"
if grep -rqF 'change-Me-8chars' "$work"/keyset-*.log; then fail "a secret of the example vault appears in the output"; fi
log "key set generated under the copied inventory; second run changed=0"

"$BIN/python" hack/inventory_shape.py
