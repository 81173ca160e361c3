#!/usr/bin/env bash
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Prove that the Harbor 2.x installer DOUBLE handles the database schema across releases like Harbor 2.x core
# (golang-migrate at start, see LAYOUT.md "Database schema"), on this machine's Docker engine, against ONE throwaway
# PostgreSQL + Redis:
#   1. install 2.14.4 (fresh database): schema 171, clean, no registry.ca_certificate;
#   2. minor upgrade: stop 2.14.4, install 2.15.0 while a second 2.15.0 core ("node 2") starts at the same moment:
#      one migrates 171 -> 180 under the advisory lock (dirty while it runs), the other waits and finds nothing to do;
#      registry.ca_certificate exists, the admin password of 2.14.4 still works; an old 2.14.4 core that was
#      already running keeps serving (real core never re-checks the schema);
#   3. downgrade: a 2.14.4 core refuses the 180 schema ("no migration found for version 180"), exit 1;
#   4. patch rolling 2.15.0 -> 2.15.2: a 2.15.2 core beside 2.15.0 ("No change in schema"), then install 2.15.2;
#   5. a core killed while it migrates leaves the schema dirty; the next core refuses it ("Dirty database
#      version 180"), exit 1; forced back to 171 and clean, the next start migrates again.
# Everything it creates is named dblupg-* (containers, compose project dblupg, its network) and removed at the end
# (KEEP=1 keeps it). It never touches the molecule lab (services, harbor1..4, lb, client, harbor-ha-lab).
#   tests/harbor_double/test/prove-upgrade.sh
# Knobs: HARBOR_DOUBLE_NAMESPACE / HARBOR_DOUBLE_DIST (passed to build-installer.sh: build into another namespace
# and dist directory, e.g. while a lab uses tests/harbor_double/dist), PROVE_UPG_HTTP_PORT (28080),
# PROVE_UPG_LOG_PORT (21514), PROVE_UPG_PG_PORT (35432), PROVE_UPG_REDIS_PORT (36379), PROVE_UPG_MIGRATION_SECONDS (6).
set -euo pipefail
OLD=2.14.4 NEW=2.15.0 PATCH=2.15.2
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
NS=${HARBOR_DOUBLE_NAMESPACE:-harbor-double}
HTTP_PORT=${PROVE_UPG_HTTP_PORT:-28080}
LOG_PORT=${PROVE_UPG_LOG_PORT:-21514}
PG_PORT=${PROVE_UPG_PG_PORT:-35432}
REDIS_PORT=${PROVE_UPG_REDIS_PORT:-36379}
MIGRATION_SECONDS=${PROVE_UPG_MIGRATION_SECONDS:-6}
PROJECT=dblupg
SVC=dblupg-testsvc
PASS=Harbor12345-Upgrade
PGPW=pg-secret-upg REDISPW=redis-secret-upg
t0=$(date +%s)
step() { printf '\n==> [%3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
ok() { printf '    OK  %s\n' "$*"; }
fail() { printf '    FAIL %s\n' "$*"; exit 1; }

WORK=$(mktemp -d /var/tmp/dblupg-prove.XXXXXX)
export DOCKER_CONFIG=$WORK/dockercfg
mkdir -p "$DOCKER_CONFIG/cli-plugins"
. "$(dirname "$0")/compose-plugin.sh"
ensure_compose_plugin
COMPOSE="docker compose -p $PROJECT"
CORES=(dblupg-core-node2 dblupg-core-old dblupg-core-patch dblupg-core-kill)

cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "KEEP=1: left $WORK and the dblupg-* containers"; return; fi
  for dir in "$WORK"/v*/harbor; do
    if [ -f "$dir/docker-compose.yml" ]; then (cd "$dir" && $COMPOSE down -v --remove-orphans >/dev/null 2>&1) || true; fi
  done
  docker rm -f "$SVC" "${CORES[@]}" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql_q() { docker exec "$SVC" su postgres -c "psql -d registry -tA -F' ' -c \"$1\""; }
schema() { psql_q 'SELECT version, dirty FROM schema_migrations'; }
has_column() { [ "$(psql_q "SELECT count(*) FROM information_schema.columns WHERE table_name = '$1' AND column_name = '$2'")" = 1 ]; }

step "build the installers $OLD, $NEW, $PATCH (shared layer built once, cached after)"
declare -A TGZ
for v in $OLD $NEW $PATCH; do
  s=$(date +%s)
  TGZ[$v]=$("$ROOT/tests/harbor_double/build-installer.sh" "$v" 2>"$WORK/build-$v.log") || { cat "$WORK/build-$v.log"; fail "build $v"; }
  ok "$(basename "${TGZ[$v]}") ($(du -h "${TGZ[$v]}" | cut -f1), $(( $(date +%s) - s )) s: $(grep -o 'shared layer [^ ]* is cached\|building the shared layer' "$WORK/build-$v.log" | head -1))"
done

step "throwaway PostgreSQL + Redis ($SVC, FROM harbor-ha-lab/base; the image prove-v2.sh uses)"
SVC_HASH=$(cat "$HERE/Dockerfile.testsvc" "$HERE/testsvc-start" | sha256sum | cut -c1-12)
if ! docker image inspect "harbor-double/testsvc:$SVC_HASH" >/dev/null 2>&1; then
  DOCKER_BUILDKIT=0 docker build -q -t "harbor-double/testsvc:$SVC_HASH" -f "$HERE/Dockerfile.testsvc" "$HERE" >/dev/null 2>&1
fi
GW=$(ip -4 -o addr show docker0 2>/dev/null | awk '{print $4}' | cut -d/ -f1)
[ -n "$GW" ] || GW=$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}')
[ -n "$GW" ] || fail "cannot find the docker0 address (the containers reach the test services through it)"
docker rm -f "$SVC" >/dev/null 2>&1 || true
docker run -d --name "$SVC" -e PG_PASSWORD=$PGPW -e REDIS_PASSWORD=$REDISPW \
  -p "$GW:$PG_PORT:5432" -p "$GW:$REDIS_PORT:6379" "harbor-double/testsvc:$SVC_HASH" >/dev/null
for _ in $(seq 1 60); do grep -q 'testsvc: ready' <<<"$(docker logs "$SVC" 2>&1)" && break; sleep 1; done
ok "PostgreSQL at $GW:$PG_PORT (database registry, empty), Redis at $GW:$REDIS_PORT"

# unpack + docker load + harbor.yml (from the version's own harbor.yml.tmpl) + ./prepare; the generated compose
# file gets dblupg- container names and its own syslog port (the project's names must not meet anyone else's)
unpack_prepare() {  # $1 = version
  local v=$1 dir=$WORK/v$1/harbor
  mkdir -p "$WORK/v$v"
  tar -C "$WORK/v$v" -xzf "${TGZ[$v]}"
  docker load -q -i "$dir/harbor.v$v.tar.gz" >/dev/null
  python3 - "$dir/harbor.yml.tmpl" "$dir/harbor.yml" <<EOF
import sys, yaml
conf = yaml.safe_load(open(sys.argv[1]))
conf['hostname'] = 'harbor.upgrade.test'
conf['http'] = {'port': $HTTP_PORT}
conf.pop('https', None)
conf['external_url'] = 'http://127.0.0.1:$HTTP_PORT'
conf['harbor_admin_password'] = '$PASS-' + conf['_version']  # ignored after the first start on the database
conf['data_volume'] = '$WORK/data'
conf['log']['local']['location'] = '$WORK/log'
conf['jobservice']['job_loggers'] = ['DB']
conf['external_database'] = {'harbor': {'host': '$GW', 'port': $PG_PORT, 'db_name': 'registry', 'username': 'harbor',
                             'password': '$PGPW', 'ssl_mode': 'disable', 'max_idle_conns': 2, 'max_open_conns': 0}}
conf['external_redis'] = {'host': '$GW:$REDIS_PORT', 'password': '$REDISPW', 'registry_db_index': 1, 'jobservice_db_index': 2,
                          'trivy_db_index': 5, 'idle_timeout_seconds': 30}
yaml.safe_dump(conf, open(sys.argv[2], 'w'), sort_keys=False)
EOF
  (cd "$dir" && ./prepare) > "$WORK/prepare-$v.log" 2>&1 || { cat "$WORK/prepare-$v.log"; fail "./prepare $v"; }
  sed -i -e 's/^\(\s*container_name: \)/\1dblupg-/' -e "s/127\.0\.0\.1:1514:10514/127.0.0.1:$LOG_PORT:10514/" \
    -e "s#tcp://localhost:1514#tcp://localhost:$LOG_PORT#" "$dir/docker-compose.yml"
  echo "HARBOR_DOUBLE_MIGRATION_SECONDS=$MIGRATION_SECONDS" >> "$dir/common/config/core/env"
}

wait_ping() {  # $1 = label
  for _ in $(seq 1 180); do
    if [ "$(curl -s "http://127.0.0.1:$HTTP_PORT/api/v2.0/ping" 2>/dev/null)" = Pong ]; then return 0; fi
    sleep 1
  done
  docker ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}'
  docker logs --tail 30 dblupg-harbor-core 2>&1 || true
  fail "no Pong from $1"
}

users_current() {  # $1 = password -> HTTP code
  curl -s -o /dev/null -w '%{http_code}' -u "admin:$1" "http://127.0.0.1:$HTTP_PORT/api/v2.0/users/current"
}

core_run() {  # $1 = name, $2 = version, rest: extra docker run args; a core with the version's env_file and mounts
  local name=$1 v=$2; shift 2
  docker run --name "$name" --env-file "$WORK/v$v/harbor/common/config/core/env" -e HARBOR_DOUBLE_CONNECT_TIMEOUT=10 "$@" \
    -v "$WORK/v$v/harbor/common/config/core/app.conf:/etc/core/app.conf" \
    -v "$WORK/data/secret/core/private_key.pem:/etc/core/private_key.pem" \
    -v "$WORK/data/secret/keys/secretkey:/etc/core/key" "$NS/harbor-core:v$v"
}

# start a core detached and wait until it exits or serves: OUT = its log, RC = its exit code or "running"
core_once() {  # $1 = name, $2 = version, rest: extra docker run args
  local name=$1
  core_run "$@" -d >/dev/null
  RC=running
  for _ in $(seq 1 120); do
    if [ "$(docker inspect -f '{{.State.Running}}' "$name")" = false ]; then RC=$(docker inspect -f '{{.State.ExitCode}}' "$name"); break; fi
    grep -q 'listening on' <<<"$(docker logs "$name" 2>&1)" && break
    sleep 1
  done
  OUT=$(docker logs "$name" 2>&1)
  docker rm -f "$name" >/dev/null
}

core_log() { docker logs dblupg-harbor-core 2>&1; }

health() {  # all components healthy (core, database, redis, registry)
  curl -s "http://127.0.0.1:$HTTP_PORT/api/v2.0/health" | python3 -c 'import json,sys; h=json.load(sys.stdin); print("    health:", h["status"], {c["name"]: c["status"] for c in h["components"]}); sys.exit(h["status"] != "healthy")' \
    || fail "health not healthy"
}

# ---------------------------------------------------------------------------------------------- 2.14.4
step "install $OLD on the empty database"
unpack_prepare $OLD
grep '^_version' "$WORK/v$OLD/harbor/harbor.yml.tmpl" | sed 's/^/    harbor.yml.tmpl /' || true
grep -q '^SYNC_QUOTA=true' "$WORK/v$OLD/harbor/common/config/core/env" || fail "$OLD core/env has no SYNC_QUOTA=true"
ok "core/env has SYNC_QUOTA=true (Harbor 2.14's template)"
s=$(date +%s)
(cd "$WORK/v$OLD/harbor" && $COMPOSE up -d) > "$WORK/up-$OLD.log" 2>&1 || { cat "$WORK/up-$OLD.log"; fail "compose up $OLD"; }
wait_ping "$OLD"
ok "$OLD up: /api/v2.0/ping Pong $(( $(date +%s) - s )) s after compose up"
health
core_log | grep -E 'current database schema|migrating the schema|171/u|schema migrated|migrated successfully' | cut -d' ' -f3- | sed 's/^/    core: /' || true
[ "$(schema)" = "171 f" ] || fail "schema after $OLD is '$(schema)', not '171 f'"
ok "schema_migrations: 171, clean"
has_column replication_policy single_active_replication || fail "no replication_policy.single_active_replication (the 170 step)"
! has_column registry ca_certificate || fail "registry.ca_certificate exists before 2.15"
ok "replication_policy.single_active_replication present (0170), registry.ca_certificate absent (0180 not applied)"
OLD_PASS="$PASS-2.14.0"
[ "$(users_current "$OLD_PASS")" = 200 ] || fail "admin login on $OLD"
ok "admin logs in with the password of $OLD's harbor.yml"

step "an old $OLD core that keeps running through the upgrade (what a node not stopped first would be)"
core_run dblupg-core-old $OLD -d >/dev/null
for _ in $(seq 1 60); do grep -q 'listening on' <<<"$(docker logs dblupg-core-old 2>&1)" && break; sleep 1; done
grep -q 'No change in schema, skip.' <<<"$(docker logs dblupg-core-old 2>&1)" || fail "the old core did not start cleanly"
ok "dblupg-core-old ($OLD) serving: No change in schema"

# ---------------------------------------------------------------------------------------------- 2.15.0
step "minor upgrade $OLD -> $NEW: stop $OLD, install $NEW; a second $NEW core (node 2) starts at the same moment"
(cd "$WORK/v$OLD/harbor" && $COMPOSE down) > /dev/null 2>&1
unpack_prepare $NEW
grep '^_version' "$WORK/v$NEW/harbor/harbor.yml.tmpl" | sed 's/^/    harbor.yml.tmpl /' || true
grep -q '^SYNC_QUOTA' "$WORK/v$NEW/harbor/common/config/core/env" && fail "$NEW core/env has SYNC_QUOTA"
s=$(date +%s)
(cd "$WORK/v$NEW/harbor" && $COMPOSE up -d) > "$WORK/up-$NEW.log" 2>&1 &
up_pid=$!
core_run dblupg-core-node2 $NEW -d >/dev/null
seen_dirty="" seen_lock=""
for _ in $(seq 1 120); do
  st=$(schema)
  [ "$st" = "180 t" ] && seen_dirty=yes
  [ -n "$(psql_q "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted")" ] && seen_lock=$(psql_q "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted")
  [ "$st" = "180 f" ] && break
  sleep 0.3
done
wait $up_pid || { cat "$WORK/up-$NEW.log"; fail "compose up $NEW"; }
wait_ping "$NEW"
up_s=$(( $(date +%s) - s ))
[ -n "$seen_dirty" ] || fail "never saw the schema dirty at 180 while it migrated"
[ -n "$seen_lock" ] || fail "never saw the advisory lock held while it migrated"
expected_lock=$(python3 -c 'import zlib; print((zlib.crc32(b"public\x00schema_migrations\x00registry") * 1486364155) & 0xffffffff)')
[ "$seen_lock" = "$expected_lock" ] || fail "advisory lock $seen_lock is not golang-migrate's key $expected_lock"
ok "while it migrated: schema_migrations '180 t' (dirty) and pg_advisory_lock $seen_lock held (golang-migrate's key for public.schema_migrations in registry)"
for _ in $(seq 1 60); do grep -q 'listening on' <<<"$(docker logs dblupg-core-node2 2>&1)" && break; sleep 1; done
for c in dblupg-harbor-core dblupg-core-node2; do
  docker logs "$c" 2>&1 | grep -E 'lock|current database schema|migrating the schema|180/u|No change|schema migrated' | cut -d' ' -f3- | sed "s/^/    $c: /" || true
done
both=$(core_log; docker logs dblupg-core-node2 2>&1)
migrations=$(grep -c '180/u 2.15.0_schema' <<<"$both" || true)
[ "$migrations" = 1 ] || fail "the 180 migration ran $migrations times"
grep -q 'held by another process: waiting' <<<"$both" || fail "no core waited for the lock"
grep -q 'No change in schema, skip.' <<<"$both" || fail "the waiting core did not find the migration done"
ok "exactly one core migrated; the other waited for the lock, then found 'No change in schema'"
[ "$(schema)" = "180 f" ] || fail "schema after $NEW is '$(schema)'"
has_column registry ca_certificate || fail "registry.ca_certificate missing after $NEW"
ok "schema_migrations: 180, clean; registry.ca_certificate added (Harbor's 0180_2.15.0_schema); $NEW Pong $up_s s after compose up"
health
[ "$(users_current "$OLD_PASS")" = 200 ] || fail "the admin password of $OLD does not work on $NEW"
[ "$(users_current "$PASS-2.15.0")" = 401 ] || fail "$NEW's harbor_admin_password replaced the stored one"
ok "admin keeps $OLD's password (harbor_admin_password of $NEW ignored: the database has one)"
code=$(docker exec dblupg-core-old curl -s -o /dev/null -w '%{http_code}' -u "admin:$OLD_PASS" http://127.0.0.1:8080/api/v2.0/users/current)
[ "$code" = 200 ] || fail "old core: users/current -> $code"
ok "the $OLD core started before the upgrade still serves on the 180 schema (users/current 200): like Harbor, nothing re-checks the schema at runtime"
docker rm -f dblupg-core-old dblupg-core-node2 >/dev/null

# ---------------------------------------------------------------------------------------------- downgrade
step "downgrade: a $OLD core against the 180 schema"
core_once dblupg-core-old $OLD
case $RC in running|0) fail "$OLD started against schema 180 ($RC)" ;; esac
echo "$OUT" | grep -E 'current database|no migration|FATAL' | cut -d' ' -f3- | sed 's/^/    /' || true
grep -q 'no migration found for version 180' <<<"$OUT" || fail "no 'no migration found for version 180' message"
ok "$OLD refuses schema 180: exit $RC (with restart: always, compose would restart it over and over)"
[ "$(schema)" = "180 f" ] || fail "the refused core changed the schema"

# ---------------------------------------------------------------------------------------------- 2.15.2
step "patch upgrade $NEW -> $PATCH, rolling: a $PATCH core beside the running $NEW, then install $PATCH"
unpack_prepare $PATCH
core_run dblupg-core-patch $PATCH -d >/dev/null
for _ in $(seq 1 60); do grep -q 'listening on' <<<"$(docker logs dblupg-core-patch 2>&1)" && break; sleep 1; done
grep -q 'No change in schema, skip.' <<<"$(docker logs dblupg-core-patch 2>&1)" || { docker logs dblupg-core-patch; fail "$PATCH core beside $NEW"; }
[ "$(docker exec dblupg-core-patch curl -s http://127.0.0.1:8080/api/v2.0/ping)" = Pong ] || fail "$PATCH core ping"
ok "$PATCH core: 'No change in schema, skip.' and Pong while $NEW serves (same schema 180)"
docker rm -f dblupg-core-patch >/dev/null
(cd "$WORK/v$NEW/harbor" && $COMPOSE down) > /dev/null 2>&1
s=$(date +%s)
(cd "$WORK/v$PATCH/harbor" && $COMPOSE up -d) > "$WORK/up-$PATCH.log" 2>&1 || { cat "$WORK/up-$PATCH.log"; fail "compose up $PATCH"; }
wait_ping "$PATCH"
grep -q 'No change in schema, skip.' <<<"$(core_log)" || fail "$PATCH migrated something"
[ "$(curl -s "http://127.0.0.1:$HTTP_PORT/api/v2.0/systeminfo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["harbor_version"])')" = "v$PATCH-double" ] \
  || fail "systeminfo does not say $PATCH"
[ "$(users_current "$OLD_PASS")" = 200 ] || fail "admin login on $PATCH"
health
ok "$PATCH installed: Pong $(( $(date +%s) - s )) s after compose up, No change in schema, systeminfo v$PATCH-double, admin login"

# ---------------------------------------------------------------------------------------------- dirty
step "a core killed while it migrates leaves the schema dirty; the next start is refused"
psql_q "UPDATE schema_migrations SET version = 171; ALTER TABLE registry DROP COLUMN ca_certificate" >/dev/null
ok "schema set back to the 2.14 state (171, clean, no registry.ca_certificate)"
core_run dblupg-core-kill $PATCH -d -e HARBOR_DOUBLE_MIGRATION_SECONDS=30 >/dev/null
for _ in $(seq 1 100); do [ "$(schema)" = "180 t" ] && break; sleep 0.3; done
[ "$(schema)" = "180 t" ] || fail "the migration did not start"
docker kill dblupg-core-kill >/dev/null
ok "core killed while migrating: schema_migrations '$(schema)'; advisory locks left: $(psql_q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") (the session ended)"
docker rm -f dblupg-core-kill >/dev/null
core_once dblupg-core-kill $PATCH
case $RC in running|0) fail "a core started on a dirty schema ($RC)" ;; esac
echo "$OUT" | grep -E 'current database|Dirty|FATAL' | cut -d' ' -f3- | sed 's/^/    /' || true
grep -q 'Dirty database version 180. Fix and force version.' <<<"$OUT" || fail "no 'Dirty database version 180' message"
ok "dirty 180 refused: exit $RC"
psql_q "UPDATE schema_migrations SET version = 171, dirty = false" >/dev/null
core_once dblupg-core-kill $PATCH -e HARBOR_DOUBLE_MIGRATION_SECONDS=1
if [ "$RC" != running ] || ! grep -q '180/u 2.15.0_schema' <<<"$OUT"; then echo "$OUT" | tail -5; fail "no migration after the force"; fi
[ "$(schema)" = "180 f" ] || fail "schema after the forced re-run: '$(schema)'"
has_column registry ca_certificate || fail "no registry.ca_certificate after the forced re-run"
ok "forced to 171 clean (what golang-migrate's 'force 171' does): the next core migrated 171 -> 180 again, clean, and served"

step "teardown"
cleanup; trap - EXIT
ok "compose project $PROJECT down, dblupg-* containers removed, $WORK removed"
printf '\nprove-upgrade: ALL CHECKS PASSED in %ss\n' "$(( $(date +%s) - t0 ))"
