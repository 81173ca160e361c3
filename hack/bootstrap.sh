#!/usr/bin/env bash
# Prepare this machine for `make lab` and `make test`: host packages, a Docker engine, the virtualenv.
# Safe to re-run: every step checks first and does nothing when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# Host programs the tests run for real (Debian packages); mariadb-client: the controller loads the
# Harbor 1.x schema in the legacy scenario (community.mysql.mysql_db state=import runs the client) and dumps and
# restores its database (backup.yml, restore.yml: mysqldump, mysql); postgresql-client: pg_dump and psql for the
# 2.x database's backup and restore (Debian 12's 15, the lab server's version);
# openssh-client: the controller reaches the lab hosts over SSH; keepalived: its config check (`keepalived -t`,
# nothing is started) in the functional tests of the loadbalancer role's VIP template;
# and the shellcheck program: ansible-test sanity skips its shell script test without it.
HOST_PACKAGES=(docker-registry nginx debootstrap rsync git mariadb-client postgresql-client openssh-client keepalived shellcheck)

log() { printf '==> %s\n' "$*"; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_host_packages() {
  local missing=()
  for p in "${HOST_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ! command -v docker >/dev/null 2>&1; then missing+=(docker.io); fi
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing host packages: ${missing[*]}"
  # Keep package scripts from starting services (nginx on :80, registry on :5000):
  # the tests start their own instances on loopback ports.
  local policy=/usr/sbin/policy-rc.d created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod 0755 "$policy"
    created_policy=1
  fi
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$created_policy" -eq 1 ] && as_root rm -f "$policy"
  return 0
}

ensure_docker_engine() {
  if docker info >/dev/null 2>&1; then return 0; fi
  log "no Docker engine answers: starting one"
  if command -v systemctl >/dev/null 2>&1 && [ "$(ps -o comm= -p 1)" = systemd ]; then
    as_root systemctl start docker
  else
    as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
  fi
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  echo "Docker engine did not start: see /var/log/dockerd.log" >&2
  return 1
}

ensure_venv() {
  local stamp="$VENV/.requirements.sha256"
  local want
  want=$(sha256sum requirements.txt | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  log "creating virtualenv $VENV from requirements.txt"
  [ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >/dev/null
  "$VENV/bin/pip" install -q -r requirements.txt
  echo "$want" > "$stamp"
}

install_host_packages
ensure_docker_engine
ensure_venv
log "bootstrap done"
