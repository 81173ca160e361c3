#!/usr/bin/env bash
# Build the collection tarball, install it into an empty path and render its docs from there:
# proves that what we ship installs and documents itself (module docs, role argument specs).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
OUT=$PWD/build/dist
rm -rf "$OUT" && mkdir -p "$OUT"
"$BIN/ansible-galaxy" collection build --force --output-path "$OUT" . >/dev/null
TARBALL=$(ls "$OUT"/registryops-harbor_ha-*.tar.gz)
echo "built $(basename "$TARBALL") ($(du -k "$TARBALL" | cut -f1) KiB)"
INSTALL=$(mktemp -d)
trap 'rm -rf "$INSTALL"' EXIT
# Only the fresh install path: with the repo's own link on the path, galaxy would say "already installed"
# and install nothing. The community collections are still found on sys.path (COLLECTIONS_SCAN_SYS_PATH).
export ANSIBLE_COLLECTIONS_PATH="$INSTALL"
# --no-deps: Galaxy is unreachable here; the dependencies come from the pinned ansible package.
"$BIN/ansible-galaxy" collection install --no-deps -p "$INSTALL" "$TARBALL" >/dev/null
test -f "$INSTALL/ansible_collections/registryops/harbor_ha/MANIFEST.json" || { echo "install put nothing in $INSTALL" >&2; exit 1; }
doc=$("$BIN/ansible-doc" registryops.harbor_ha.login_matrix)
"$BIN/ansible-doc" --json registryops.harbor_ha.login_matrix | "$BIN/python" -c '
import json, sys
doc = json.load(sys.stdin)["registryops.harbor_ha.login_matrix"]["doc"]
assert doc["short_description"] == "Verify that a registry login works across every Harbor node", doc["short_description"]
missing = {"nodes", "endpoint", "registry_host", "username", "password", "ca_path", "validate_certs", "timeout",
           "service", "harbor_api", "fail_on_error", "docker_login"} - set(doc["options"])
assert not missing, missing
'
echo "ansible-doc registryops.harbor_ha.login_matrix: $(wc -l <<<"$doc") lines, all documented options present"
test -z "$(tar -tzf "$TARBALL" | grep -E '(^|/)(\.venv|build|tests/output)/' || true)" || { echo "tarball contains build artefacts" >&2; exit 1; }
for role in $(tar -tzf "$TARBALL" | sed -n 's#^roles/\([^/]*\)/meta/argument_specs.yml$#\1#p' | sort); do
  "$BIN/ansible-doc" -t role registryops.harbor_ha."$role" >/dev/null
  echo "ansible-doc -t role registryops.harbor_ha.$role: ok"
done
