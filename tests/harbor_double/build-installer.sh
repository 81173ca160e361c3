#!/usr/bin/env bash
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Build the Harbor offline installer DOUBLE for one Harbor version (test code for the lab, not Harbor):
#   tests/harbor_double/build-installer.sh 2.15.0   -> dist/harbor-offline-installer-v2.15.0.tgz (+ .sha256)
#   tests/harbor_double/build-installer.sh 1.5.4    -> dist/harbor-offline-installer-v1.5.4.tgz  (+ .sha256)
# Images: harbor-double/<name>:v<version>, all FROM one shared layer harbor-double/base:<hash>, itself FROM the
# lab's harbor-ha-lab/base:latest (built by tests/lab/images/build-base.sh; this script waits for it, it never
# builds it). Everything is cached by recipe hashes: nothing is rebuilt unless its inputs changed.
# Prints the tarball path on stdout. See LAYOUT.md.
set -euo pipefail

VERSION=${1:?usage: $0 <harbor version, e.g. 2.15.0 or 1.5.4>}
VERSION=${VERSION#v}
HERE=$(cd "$(dirname "$0")" && pwd)
DIST=${HARBOR_DOUBLE_DIST:-$HERE/dist}
NS=${HARBOR_DOUBLE_NAMESPACE:-harbor-double}
LAB_BASE=${HARBOR_DOUBLE_LAB_BASE:-harbor-ha-lab/base:latest}
V1_REGISTRY_VERSION=${HARBOR_DOUBLE_V1_REGISTRY_VERSION:-v2.6.2}
RECIPE_REV=1   # bump to force a rebuild of everything
export DOCKER_BUILDKIT=0

log() { printf '==> %s\n' "$*" >&2; }
case "$VERSION" in
  1.*) GEN=v1 ;;
  2.*) GEN=v2 ;;
  *) echo "unsupported Harbor version $VERSION (1.x or 2.x)" >&2; exit 2 ;;
esac
TAG=v$VERSION
started=$(date +%s)

# 1. the lab base image (being built elsewhere: wait, never build it here)
waited=0
until docker image inspect "$LAB_BASE" >/dev/null 2>&1; do
  if [ "$waited" -ge "${HARBOR_DOUBLE_BASE_WAIT:-1800}" ]; then
    echo "$LAB_BASE did not appear within ${waited}s: run tests/lab/images/build-base.sh" >&2; exit 1
  fi
  [ "$waited" -eq 0 ] && log "waiting for $LAB_BASE (tests/lab/images/build-base.sh builds it)"
  sleep 5; waited=$((waited + 5))
done
LAB_BASE_ID=$(docker image inspect -f '{{.Id}}' "$LAB_BASE")

# 2. the shared layer: hash of every input file + the lab base image id
BASE_INPUTS=(images/Dockerfile.base images/rootfs core/harbor_core_double.py services/harbor_services_double.py prepare)
hash_inputs() {
  (cd "$HERE" && find "$@" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z \
     | xargs -0 sha256sum) | sha256sum | cut -c1-16
}
BASE_HASH=$(printf '%s %s %s' "$(hash_inputs "${BASE_INPUTS[@]}")" "$LAB_BASE_ID" "$RECIPE_REV" | sha256sum | cut -c1-12)
BASE_IMAGE=$NS/base:$BASE_HASH
if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  log "shared layer $BASE_IMAGE is cached"
else
  log "building the shared layer $BASE_IMAGE (apt inside the build, about 1-2 min)"
  ctx=$(mktemp -d /var/tmp/harbor-double-ctx.XXXXXX)
  trap 'rm -rf "$ctx"' EXIT
  for item in "${BASE_INPUTS[@]}"; do
    mkdir -p "$ctx/$(dirname "$item")"; cp -a "$HERE/$item" "$ctx/$item"
  done
  find "$ctx" -name __pycache__ -prune -exec rm -rf {} +
  mv "$ctx/images/rootfs" "$ctx/rootfs"
  docker build -q --build-arg BASE_IMAGE="$LAB_BASE" --label org.registryops.harbor-double.recipe="$BASE_HASH" \
    -t "$BASE_IMAGE" -f "$ctx/images/Dockerfile.base" "$ctx" >&2
  rm -rf "$ctx"; trap - EXIT
fi

# older shared layers: drop their tags (images built on them keep their layers until they are rebuilt)
for old in $(docker images "$NS/base" --format '{{.Repository}}:{{.Tag}}' | grep -v ":$BASE_HASH\$" || true); do
  docker rmi "$old" >/dev/null 2>&1 || true
done

# 3. the per-image metadata layers: name|Dockerfile lines (separated by ';;')
hc() { printf 'HEALTHCHECK --interval=30s --timeout=10s CMD %s' "$1"; }
if [ "$GEN" = v2 ]; then
  IMAGES=(
    "prepare:$TAG|WORKDIR /usr/src/app;;ENTRYPOINT [\"python3\", \"main.py\"]"
    "harbor-log:$TAG|$(hc 'ss -ltn | grep -q :10514 || exit 1');;VOLUME [\"/var/log/docker/\", \"/run/\", \"/etc/logrotate.d/\"];;CMD [\"/opt/harbor-double/bin/log-start\"]"
    "registry-photon:$TAG|USER 10000;;$(hc 'curl --fail -s http://localhost:5000 || exit 1');;VOLUME [\"/storage\"];;ENTRYPOINT [\"/opt/harbor-double/bin/registry-v2\"]"
    "harbor-registryctl:$TAG|USER 10000;;WORKDIR /home/harbor;;$(hc 'curl --fail -s http://localhost:8080/api/health || exit 1');;VOLUME [\"/var/lib/registry\"];;ENTRYPOINT [\"/opt/harbor-double/bin/registryctl\"]"
    "harbor-core:$TAG|USER 10000;;WORKDIR /harbor;;$(hc 'curl --fail -s http://localhost:8080/api/v2.0/ping || exit 1');;ENTRYPOINT [\"/opt/harbor-double/bin/core\"]"
    "harbor-portal:$TAG|USER 10000;;STOPSIGNAL SIGQUIT;;$(hc 'curl --fail -s http://localhost:8080 || exit 1');;VOLUME [\"/var/cache/nginx\", \"/var/log/nginx\", \"/run\"];;CMD [\"nginx\", \"-g\", \"daemon off;\"]"
    "harbor-jobservice:$TAG|USER 10000;;WORKDIR /harbor;;$(hc 'curl --fail -s http://localhost:8080/api/v1/stats || exit 1');;VOLUME [\"/var/log/jobs/\"];;ENTRYPOINT [\"/opt/harbor-double/bin/jobservice\"]"
    "nginx-photon:$TAG|USER 10000;;STOPSIGNAL SIGQUIT;;$(hc 'curl --fail -s http://localhost:8080 || exit 1');;VOLUME [\"/var/cache/nginx\", \"/var/log/nginx\", \"/run\"];;CMD [\"nginx\", \"-g\", \"daemon off;\"]"
  )
else
  IMAGES=(
    "harbor-adminserver:$TAG|WORKDIR /harbor;;$(hc 'curl --fail -s http://127.0.0.1:8080/api/ping || exit 1');;ENTRYPOINT [\"/opt/harbor-double/bin/adminserver-v1\"]"
    "harbor-ui:$TAG|WORKDIR /harbor;;$(hc 'curl --fail -s http://127.0.0.1:8080/api/ping || exit 1');;ENTRYPOINT [\"/opt/harbor-double/bin/ui-v1\"]"
    "harbor-log:$TAG|$(hc 'ss -ltn | grep -q :10514 || exit 1');;VOLUME [\"/var/log/docker/\", \"/run/\", \"/etc/logrotate.d/\"];;EXPOSE 10514;;CMD [\"/opt/harbor-double/bin/log-start\"]"
    "harbor-db:$TAG|ENTRYPOINT [\"/opt/harbor-double/bin/db-v1\"]"
    "harbor-jobservice:$TAG|WORKDIR /harbor;;ENTRYPOINT [\"/opt/harbor-double/bin/jobservice-v1\"]"
    "nginx-photon:$TAG|EXPOSE 80;;STOPSIGNAL SIGQUIT;;$(hc 'curl --fail -s http://127.0.0.1 || exit 1');;VOLUME [\"/var/cache/nginx\", \"/var/log/nginx\", \"/run\"];;CMD [\"nginx\", \"-g\", \"daemon off;\"]"
    "registry-photon:$V1_REGISTRY_VERSION-$TAG|$(hc 'curl --fail -s 127.0.0.1:5000/ || exit 1');;VOLUME [\"/var/lib/registry\"];;EXPOSE 5000;;ENTRYPOINT [\"/entrypoint-double.sh\"];;CMD [\"/etc/registry/config.yml\"]"
  )
fi

REFS=()
PIDS=()
ALL_HASHES=$BASE_HASH
empty_ctx=$(mktemp -d /var/tmp/harbor-double-empty.XXXXXX)
for spec in "${IMAGES[@]}"; do
  ref=$NS/${spec%%|*}
  body=${spec#*|}
  dockerfile=$(printf 'FROM %s\nENV HARBOR_DOUBLE_VERSION=%s HARBOR_DOUBLE_NAMESPACE=%s\nLABEL org.registryops.harbor-double="Harbor installer double (registryops.harbor_ha lab test code, not Harbor)" org.registryops.harbor-double.image="%s"\n%s\n' \
    "$BASE_IMAGE" "$TAG" "$NS" "${ref%%:*}" "${body//;;/$'\n'}")
  if [ "$GEN" = v1 ] && [[ $ref == */registry-photon:* ]]; then
    dockerfile=${dockerfile//\/entrypoint-double.sh/\/opt\/harbor-double\/bin\/registry-v1}
  fi
  hash=$(printf '%s' "$dockerfile" | sha256sum | cut -c1-12)
  ALL_HASHES="$ALL_HASHES $hash"
  REFS+=("$ref")
  have=$(docker image inspect -f '{{index .Config.Labels "org.registryops.harbor-double.recipe"}}' "$ref" 2>/dev/null || true)
  if [ "$have" = "$hash" ]; then
    continue
  fi
  log "building $ref"
  n=${#REFS[@]}
  # metadata-only builds are daemon-latency bound (about 1.5 s per instruction): run them in parallel
  ( printf '%s\nLABEL org.registryops.harbor-double.recipe=%s\n' "$dockerfile" "$hash" \
      | docker build -q -t "$ref" -f - "$empty_ctx" > "$empty_ctx.$n.log" 2>&1 \
      || { echo "FAILED: docker build $ref" >> "$empty_ctx.$n.log"; exit 1; } ) &
  PIDS+=("$!")
done
build_failed=0
for pid in "${PIDS[@]}"; do wait "$pid" || build_failed=1; done
if [ "$build_failed" = 1 ]; then
  grep -h -v -i 'deprecated\|buildkit\|environment-variable' "$empty_ctx".*.log >&2; rm -rf "$empty_ctx" "$empty_ctx".*.log; exit 1
fi
rm -rf "$empty_ctx" "$empty_ctx".*.log

# replaced images of the double (untagged, labelled by this script) are garbage: remove them
for _pass in 1 2; do
  for id in $(docker images -q -f dangling=true -f label=org.registryops.harbor-double.recipe); do
    docker rmi "$id" >/dev/null 2>&1 || true
  done
done

# 4. the offline installer tarball
mkdir -p "$DIST"
TGZ=$DIST/harbor-offline-installer-$TAG.tgz
INSTALLER_INPUTS=("installer/$GEN" images/rootfs/docker-entrypoint-initdb.d build-installer.sh)
[ "$GEN" = v1 ] && INSTALLER_INPUTS+=(prepare/templates/docker_compose)
TGZ_HASH=$(printf '%s %s %s' "$ALL_HASHES" "$(hash_inputs "${INSTALLER_INPUTS[@]}")" "$NS" | sha256sum | cut -c1-16)
if [ -f "$TGZ" ] && [ -f "$TGZ.sha256" ] && [ "$(cat "$DIST/.recipe-$TAG" 2>/dev/null)" = "$TGZ_HASH" ]; then
  log "installer $TGZ is cached ($(( $(date +%s) - started )) s)"
  echo "$TGZ"; exit 0
fi
log "packaging $TGZ"
stage=$(mktemp -d /var/tmp/harbor-double-pkg.XXXXXX)
trap 'rm -rf "$stage"' EXIT
PKG=$stage/harbor
mkdir -p "$PKG"
docker save "${REFS[@]}" | gzip -1 > "$PKG/harbor.$TAG.tar.gz"
cp "$HERE/../../LICENSE" "$PKG/LICENSE"
if [ "$GEN" = v2 ]; then
  sed "s#__PREPARE_IMAGE__#$NS/prepare:$TAG#" "$HERE/installer/v2/prepare" > "$PKG/prepare"
  cp "$HERE/installer/v2/install.sh" "$HERE/installer/v2/common.sh" "$PKG/"
  # like Harbor's template: `_version` names the minor release (v2.14.4 ships `_version: 2.14.0`), and the trivy
  # db_repository/java_db_repository keys appeared in 2.15.0
  minor=${VERSION#*.}; minor=${minor%%.*}
  sed -e "s#__VERSION__#${VERSION%.*}.0#" "$HERE/installer/v2/harbor.yml.tmpl" \
    | if [ "$minor" -lt 15 ]; then grep -v '^  \(java_\)\?db_repository:'; else cat; fi > "$PKG/harbor.yml.tmpl"
  chmod 0755 "$PKG/prepare" "$PKG/install.sh" "$PKG/common.sh"
else
  cp -a "$HERE/installer/v1/." "$PKG/"
  # templates that are not valid YAML before rendering are kept as *.in in the repository (linters)
  find "$PKG/common/templates" -name '*.in' | while read -r f; do mv "$f" "${f%.in}"; done
  sed -i "s#__VERSION__#${VERSION%.*}.0#" "$PKG/harbor.cfg"
  for f in "$PKG/docker-compose.yml" "$PKG/ha/docker-compose.yml"; do
    sed -i -e "s#__ns__#$NS#g" -e "s#__version__#$TAG#g" -e "s#__reg_version__#$V1_REGISTRY_VERSION-$TAG#g" "$f"
  done
  cp "$HERE/images/rootfs/docker-entrypoint-initdb.d/registry.sql" "$PKG/ha/registry.sql"
  # Like Harbor 1.x: a DEFAULT token pair ships in common/templates (used when customize_crt = off).
  openssl genrsa -traditional -out "$PKG/common/templates/ui/private_key.pem" 4096 2>/dev/null \
    || openssl genrsa -out "$PKG/common/templates/ui/private_key.pem" 4096 2>/dev/null
  openssl req -new -x509 -key "$PKG/common/templates/ui/private_key.pem" -out "$PKG/common/templates/registry/root.crt" \
    -days 3650 -subj "/C=/ST=/L=/O=/CN=/" 2>/dev/null
  chmod 0755 "$PKG/prepare" "$PKG/install.sh"
fi
tar -C "$stage" --sort=name --owner=0 --group=0 -czf "$TGZ.tmp" harbor
mv "$TGZ.tmp" "$TGZ"
(cd "$DIST" && sha256sum "$(basename "$TGZ")" > "$(basename "$TGZ").sha256")
echo "$TGZ_HASH" > "$DIST/.recipe-$TAG"
log "installer ready: $TGZ ($(du -h "$TGZ" | cut -f1), $(( $(date +%s) - started )) s)"
echo "$TGZ"
