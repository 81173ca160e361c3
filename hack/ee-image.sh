#!/usr/bin/env bash
# Build (or reuse from cache) the AWX execution environment image harbor-ha-lab/ee from ee/execution-environment.yml:
#   1. the collection tarball (ansible-galaxy collection build), copied to ee/collections/registryops-harbor_ha.tar.gz;
#   2. the local base image harbor-ha-lab/ee-base (tests/lab/images/build.sh ee-base: debootstrap Debian 12, cached);
#   3. ansible-builder build FROM that base, with its package manager (the only two --build-arg; elsewhere the
#      definition builds unchanged FROM its own base).
# Cached: the image is tagged with a hash of its inputs (the collection's content as its MANIFEST.json and FILES.json
# state it, the ee/ files, the base image tag, the ansible-builder version) and rebuilt only when they change;
# :latest is (re)tagged every time. Prints "harbor-ha-lab/ee:<hash>" on stdout, timings on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
IMAGE=harbor-ha-lab/ee
OUT=$PWD/build/ee
RECIPE_VERSION=1   # bump to force a rebuild
log() { printf '%s\n' "$*" >&2; }
t0=$(date +%s)

mkdir -p "$OUT/dist" ee/collections
rm -f "$OUT"/dist/registryops-harbor_ha-*.tar.gz
"$BIN/ansible-galaxy" collection build --force --output-path "$OUT/dist" . >/dev/null
tarball=$(ls "$OUT"/dist/registryops-harbor_ha-*.tar.gz)
cp -f "$tarball" ee/collections/registryops-harbor_ha.tar.gz

base=$(tests/lab/images/build.sh ee-base)
builder_version=$("$BIN/ansible-builder" --version)
tag=$({
  printf 'recipe=%s base=%s ansible-builder=%s\n' "$RECIPE_VERSION" "$base" "$builder_version"
  tar -xzOf "$tarball" MANIFEST.json FILES.json
  sha256sum ee/execution-environment.yml
} | sha256sum | cut -c1-12)

if docker image inspect "$IMAGE:$tag" >/dev/null 2>&1; then
  docker tag "$IMAGE:$tag" "$IMAGE:latest"
  log "==> $IMAGE:$tag cached ($(( $(date +%s) - t0 )) s)"
  echo "$IMAGE:$tag"
  exit 0
fi

log "==> building $IMAGE:$tag FROM $base with ansible-builder $builder_version"
rm -rf ee/context
# The legacy builder takes FROM a local tag without looking for it in a registry (as tests/lab/images/build.sh).
DOCKER_BUILDKIT=0 "$BIN/ansible-builder" build --verbosity 2 \
  --file ee/execution-environment.yml --context ee/context --container-runtime docker \
  --build-arg "EE_BASE_IMAGE=$base" --build-arg PKGMGR=/usr/local/sbin/ee-pkgmgr \
  --tag "$IMAGE:$tag" >&2
docker tag "$IMAGE:$tag" "$IMAGE:latest"
log "==> $IMAGE:$tag built in $(( $(date +%s) - t0 )) s ($(docker image inspect -f '{{.Size}}' "$IMAGE:$tag" | awk '{printf "%.0f MB", $1/1e6}'))"
echo "$IMAGE:$tag"
