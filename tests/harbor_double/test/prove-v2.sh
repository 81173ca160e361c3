#!/usr/bin/env bash
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# Prove the Harbor 2.x installer DOUBLE on this machine's Docker engine, the way an operator uses the real
# offline installer: unpack, docker load, write harbor.yml (external PostgreSQL + Redis), ./prepare,
# docker compose up -d with the generated compose file; then ping/health, the registry v2 token login (core checks
# it and proxies /v2/ to the htpasswd-protected registry, like Harbor 2.x), docker login/push/pull, a token from
# another key refused, a wrong REGISTRY_CREDENTIAL_PASSWORD failing push/pull, re-prepare semantics; HTTP then HTTPS.
# Everything it starts is removed at the end (KEEP=1 keeps it for debugging).
#   tests/harbor_double/test/prove-v2.sh [version]        (default 2.15.0)
set -euo pipefail
VERSION=${1:-2.15.0}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
HTTP_PORT=${PROVE_HTTP_PORT:-18080}
HTTPS_PORT=${PROVE_HTTPS_PORT:-18443}
PROJECT=hdprove
PASS=Harbor12345-Double
PGPW=pg-secret-1 REDISPW=redis-secret-1
t0=$(date +%s)
step() { printf '\n==> [%3ss] %s\n' "$(( $(date +%s) - t0 ))" "$*"; }
ok() { printf '    OK  %s\n' "$*"; }
fail() { printf '    FAIL %s\n' "$*"; exit 1; }

TGZ=$("$ROOT/tests/harbor_double/build-installer.sh" "$VERSION")
WORK=$(mktemp -d /var/tmp/hd-prove.XXXXXX)
export DOCKER_CONFIG=$WORK/dockercfg
mkdir -p "$DOCKER_CONFIG/cli-plugins"
. "$(dirname "$0")/compose-plugin.sh"
ensure_compose_plugin
COMPOSE="docker compose -p $PROJECT"

cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then echo "KEEP=1: left $WORK and containers"; return; fi
  (cd "$WORK/harbor" 2>/dev/null && $COMPOSE down -v --remove-orphans >/dev/null 2>&1) || true
  docker rm -f hd-testsvc >/dev/null 2>&1 || true
  docker rmi -f hdprove/hello:1 "127.0.0.1:$HTTP_PORT/library/hello:1" "127.0.0.1:$HTTP_PORT/library/hello:bad" \
    "127.0.0.1:$HTTPS_PORT/library/hello:2" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step "throwaway PostgreSQL + Redis (container FROM harbor-ha-lab/base; cached image)"
SVC_HASH=$(cat "$HERE/Dockerfile.testsvc" "$HERE/testsvc-start" | sha256sum | cut -c1-12)
for old in $(docker images harbor-double/testsvc --format '{{.Repository}}:{{.Tag}}' | grep -v ":$SVC_HASH\$" || true); do
  docker rmi "$old" >/dev/null 2>&1 || true
done
if ! docker image inspect "harbor-double/testsvc:$SVC_HASH" >/dev/null 2>&1; then
  DOCKER_BUILDKIT=0 docker build -q -t "harbor-double/testsvc:$SVC_HASH" -f "$HERE/Dockerfile.testsvc" "$HERE" >/dev/null 2>&1
fi
GW=$(ip -4 -o addr show docker0 2>/dev/null | awk '{print $4}' | cut -d/ -f1)
[ -n "$GW" ] || GW=$(docker network inspect bridge -f '{{(index .IPAM.Config 0).Gateway}}')
[ -n "$GW" ] || fail "cannot find the docker0 address (the containers reach the test services through it)"
docker rm -f hd-testsvc >/dev/null 2>&1 || true
docker run -d --name hd-testsvc -e PG_PASSWORD=$PGPW -e REDIS_PASSWORD=$REDISPW \
  -p "$GW:25432:5432" -p "$GW:26379:6379" "harbor-double/testsvc:$SVC_HASH" >/dev/null
for _ in $(seq 1 60); do docker logs hd-testsvc 2>&1 | grep -q 'testsvc: ready' && break; sleep 1; done
ok "PostgreSQL at $GW:25432 (db registry, user harbor), Redis at $GW:26379 (password)"

step "unpack the installer and docker load"
tar -C "$WORK" -xzf "$TGZ"
(cd "$(dirname "$TGZ")" && sha256sum -c "$(basename "$TGZ").sha256" >/dev/null) && ok "sha256 file matches"
find "$WORK/harbor" -mindepth 1 -maxdepth 1 ! -name '.*' -printf '%f\n' | sort | tr '\n' ' '; echo
docker load -i "$WORK/harbor/harbor.v$VERSION.tar.gz" | sed 's/^/    /'

step "TLS material for the https phase (CA + server cert for harbor.double.test and 127.0.0.1)"
CERTS=$WORK/certs; mkdir -p "$CERTS"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=hd-prove-ca -keyout "$CERTS/ca.key" -out "$CERTS/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=harbor.double.test -keyout "$CERTS/server.key" -out "$CERTS/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:harbor.double.test,IP:127.0.0.1\n' > "$CERTS/ext.cnf"
openssl x509 -req -in "$CERTS/server.csr" -CA "$CERTS/ca.crt" -CAkey "$CERTS/ca.key" -CAcreateserial -days 2 \
  -extfile "$CERTS/ext.cnf" -out "$CERTS/server.crt" 2>/dev/null
ok "server cert $(openssl x509 -in "$CERTS/server.crt" -noout -ext subjectAltName | tail -1 | xargs)"

write_harbor_yml() {  # $1 = http|https
  python3 - "$WORK/harbor/harbor.yml.tmpl" "$WORK/harbor/harbor.yml" "$1" <<EOF
import sys, yaml
conf = yaml.safe_load(open(sys.argv[1]))
mode = sys.argv[3]
conf['hostname'] = 'harbor.double.test'
conf['http'] = {'port': $HTTP_PORT}
if mode == 'https':
    conf['https'] = {'port': $HTTPS_PORT, 'certificate': '$CERTS/server.crt', 'private_key': '$CERTS/server.key'}
    conf['external_url'] = 'https://127.0.0.1:$HTTPS_PORT'
else:
    conf.pop('https', None)
    conf['external_url'] = 'http://127.0.0.1:$HTTP_PORT'
conf['harbor_admin_password'] = '$PASS'
conf['data_volume'] = '$WORK/data'
conf['log']['local']['location'] = '$WORK/log'
conf['jobservice']['job_loggers'] = ['DB']
conf['external_database'] = {'harbor': {'host': '$GW', 'port': 25432, 'db_name': 'registry', 'username': 'harbor',
                             'password': '$PGPW', 'ssl_mode': 'disable', 'max_idle_conns': 2, 'max_open_conns': 0}}
conf['external_redis'] = {'host': '$GW:26379', 'password': '$REDISPW', 'registry_db_index': 1, 'jobservice_db_index': 2,
                          'trivy_db_index': 5, 'idle_timeout_seconds': 30}
yaml.safe_dump(conf, open(sys.argv[2], 'w'), sort_keys=False)
EOF
}

wait_ping() {  # $1 = base url, extra curl args after
  local url=$1; shift
  for _ in $(seq 1 90); do
    if [ "$(curl -s "$@" "$url/api/v2.0/ping" 2>/dev/null)" = Pong ]; then return 0; fi
    sleep 1
  done
  docker ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}} {{.Status}}'
  for c in harbor-core registry nginx harbor-jobservice; do echo "--- $c"; docker logs --tail 20 $c 2>&1 || true; tail -20 "$WORK/log/${c#harbor-}.log" 2>/dev/null || true; done
  fail "no Pong from $url"
}

env_value() { grep "^$1=" "$WORK/harbor/common/config/core/env" | cut -d= -f2-; }

token_flow() {  # $1 = base url, extra curl args after
  local url=$1; shift
  local hdr
  hdr=$(curl -s -o /dev/null -D - "$@" "$url/v2/" | tr -d '\r')
  echo "$hdr" | grep -q '^HTTP/1.1 401' || fail "GET /v2/ without token is not 401"
  local challenge; challenge=$(echo "$hdr" | grep -i '^www-authenticate:' | cut -d' ' -f2-)
  ok "GET /v2/ -> 401, WWW-Authenticate: $challenge"
  local realm; realm=$(echo "$challenge" | sed -n 's/.*realm="\([^"]*\)".*/\1/p')
  local bad; bad=$(curl -s -o /dev/null -w '%{http_code}' "$@" -u "admin:wrong" "$realm?service=harbor-registry")
  [ "$bad" = 401 ] || fail "token with a wrong password is not refused ($bad)"; ok "token with a wrong password -> 401"
  TOKEN=$(curl -s "$@" -u "admin:$PASS" "$realm?service=harbor-registry" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  local code; code=$(curl -s -o /dev/null -w '%{http_code}' "$@" -H "Authorization: Bearer $TOKEN" "$url/v2/")
  [ "$code" = 200 ] || fail "GET /v2/ with the token -> $code"; ok "token from the realm (basic auth admin) -> GET /v2/ 200"
  # a token signed by ANOTHER key (what a node with a different private_key.pem issues) must be refused
  local other; other=$(python3 - "$ROOT/tests/harbor_double/core" <<'EOF'
import subprocess, sys, tempfile, os
sys.path.insert(0, sys.argv[1])
import harbor_core_double as core
d = tempfile.mkdtemp()
k = os.path.join(d, 'k.pem')
subprocess.check_call(['openssl', 'genrsa', '-traditional', '-out', k, '2048'], stderr=subprocess.DEVNULL)
print(core.TokenSigner(k, 30).issue('admin', 'harbor-registry', [])[0])
EOF
)
  hdr=$(curl -s -o /dev/null -D - "$@" -H "Authorization: Bearer $other" "$url/v2/" | tr -d '\r')
  echo "$hdr" | grep -q '^HTTP/1.1 401' || fail "token from another key was accepted"
  ok "token signed by another key -> 401 ($(echo "$hdr" | grep -io 'error="[a-z_]*"'))"
}

push_pull() {  # $1 = registry host:port, $2 = tag
  local reg=$1 tag=$2
  echo "$PASS" | docker login -u admin --password-stdin "$reg" 2>&1 | grep -q 'Login Succeeded' || fail "docker login $reg"
  ok "docker login $reg"
  docker tag hdprove/hello:1 "$reg/library/hello:$tag"
  docker push -q "$reg/library/hello:$tag" >/dev/null || fail "docker push"
  ok "docker push $reg/library/hello:$tag"
  docker rmi -f "$reg/library/hello:$tag" >/dev/null
  docker pull -q "$reg/library/hello:$tag" >/dev/null || fail "docker pull"
  ok "docker pull $reg/library/hello:$tag ($(docker image inspect -f '{{.Id}}' "$reg/library/hello:$tag" | cut -c1-19))"
  docker logout "$reg" >/dev/null
}

step "a small test image FROM harbor-ha-lab/base"
printf 'FROM harbor-ha-lab/base:latest AS b\nRUN echo "hello from the harbor double proof" > /hello\nFROM scratch\nCOPY --from=b /hello /hello\n' \
  | DOCKER_BUILDKIT=0 docker build -q -t hdprove/hello:1 - >/dev/null 2>&1
ok "hdprove/hello:1"

# ---------------------------------------------------------------------------------------------- HTTP
step "HTTP: harbor.yml (external_database + external_redis), ./prepare"
write_harbor_yml http
(cd "$WORK/harbor" && ./prepare) > "$WORK/prepare1.log" 2>&1 || { cat "$WORK/prepare1.log"; fail "./prepare"; }
grep -c 'Generated configuration file' "$WORK/prepare1.log" | sed 's/^/    files generated: /'
# in the order ls -ln printed them (sorted by name)
stat -c '    %A %u:%g %n' "$WORK/data/secret/core/private_key.pem" "$WORK/data/secret/keys/secretkey" "$WORK/data/secret/registry/root.crt"
head -1 "$WORK/data/secret/core/private_key.pem" | grep -q 'BEGIN RSA PRIVATE KEY' && ok "private_key.pem is PKCS#1 ($(openssl rsa -in "$WORK/data/secret/core/private_key.pem" -noout -text 2>/dev/null | head -1))"
if grep -q postgresql: "$WORK/harbor/docker-compose.yml"; then fail "compose has a postgresql service with external_database"
else ok "compose: no postgresql/redis service (external)"; fi

step "HTTP: docker compose up -d"
(cd "$WORK/harbor" && $COMPOSE up -d) 2>&1 | tail -3 | sed 's/^/    /'
wait_ping "http://127.0.0.1:$HTTP_PORT"
ok "/api/v2.0/ping -> Pong"
curl -s "http://127.0.0.1:$HTTP_PORT/api/v2.0/health" | python3 -c 'import json,sys; h=json.load(sys.stdin); print("    health:", h["status"], {c["name"]: c["status"] for c in h["components"]}); sys.exit(h["status"] != "healthy")' \
  || fail "health not healthy"
curl -s -u "admin:$PASS" "http://127.0.0.1:$HTTP_PORT/api/v2.0/users/current" | grep -q '"username": "admin"' && ok "/api/v2.0/users/current with basic auth"
docker ps --filter "label=com.docker.compose.project=$PROJECT" --format '    {{.Names}}\t{{.Image}}\t{{.Status}}'
token_flow "http://127.0.0.1:$HTTP_PORT"
push_pull "127.0.0.1:$HTTP_PORT" 1

step "HTTP: the registry is behind htpasswd; core with a REGISTRY_CREDENTIAL_PASSWORD it does not match fails push/pull"
reg_code() { docker exec harbor-core curl -s -o /dev/null -w '%{http_code}' "$@" http://registry:5000/v2/; }
[ "$(reg_code)" = 401 ] || fail "registry:5000/v2/ without a credential is not 401"
[ "$(reg_code -u "harbor_registry_user:$(env_value REGISTRY_CREDENTIAL_PASSWORD)")" = 200 ] || fail "registry refuses core's credential"
ok "registry:5000/v2/ -> 401 without a credential, 200 with core/env's REGISTRY_CREDENTIAL_USERNAME/PASSWORD"
restart_core() {  # compose recreates core (its env_file changed); nginx resolves core once at start: restart it after
  (cd "$WORK/harbor" && $COMPOSE up -d core && $COMPOSE restart proxy) >/dev/null 2>&1
  wait_ping "http://127.0.0.1:$HTTP_PORT"
}
cp -p "$WORK/harbor/common/config/core/env" "$WORK/core.env.good"
sed -i 's/^REGISTRY_CREDENTIAL_PASSWORD=.*/REGISTRY_CREDENTIAL_PASSWORD=not-the-one-in-registry-passwd/' "$WORK/harbor/common/config/core/env"
restart_core
# docker login fails too: its GET /v2/ (with the token) goes through core to the registry, like Harbor 2.x's (the
# /v2/ root falls to core's catch-all proxy route, src/server/registry/route.go)
if out=$(echo "$PASS" | docker login -u admin --password-stdin "127.0.0.1:$HTTP_PORT" 2>&1); then fail "docker login worked with a wrong registry credential"; fi
ok "docker login fails: $(echo "$out" | tail -1)"
# store the admin credential as a successful docker login would, so pull and push authenticate and fail at the registry
python3 - "$DOCKER_CONFIG/config.json" "127.0.0.1:$HTTP_PORT" "admin:$PASS" <<'EOF'
import base64, json, os, sys
conf = json.load(open(sys.argv[1])) if os.path.exists(sys.argv[1]) else {}
conf.setdefault('auths', {})[sys.argv[2]] = {'auth': base64.b64encode(sys.argv[3].encode()).decode()}
json.dump(conf, open(sys.argv[1], 'w'))
EOF
if out=$(docker pull "127.0.0.1:$HTTP_PORT/library/hello:1" 2>&1); then fail "pull worked with a wrong registry credential"; fi
ok "docker pull fails: $(echo "$out" | tail -1)"
docker tag hdprove/hello:1 "127.0.0.1:$HTTP_PORT/library/hello:bad"
if out=$(docker push "127.0.0.1:$HTTP_PORT/library/hello:bad" 2>&1); then fail "push worked with a wrong registry credential"; fi
ok "docker push fails: $(echo "$out" | tail -1)"
docker logout "127.0.0.1:$HTTP_PORT" >/dev/null
docker logs harbor-core 2>&1 | grep -q "refused core's credential" || grep -q "refused core's credential" "$WORK/log/core.log" \
  || fail "core did not log the refused registry credential"
ok "core logs that the registry refused its credential"
cp -p "$WORK/core.env.good" "$WORK/harbor/common/config/core/env"
restart_core
push_pull "127.0.0.1:$HTTP_PORT" 1
find "$WORK/log" -mindepth 1 -maxdepth 1 ! -name '.*' -printf '%f\n' | sort | tr '\n' ' ' | sed 's/^/    syslog files: /'; echo

step "HTTP: ./prepare again: secrets change, token pair and secretkey stay"
before_env=$(grep -E '^(CORE_SECRET|JOBSERVICE_SECRET|CSRF_KEY|REGISTRY_CREDENTIAL_PASSWORD)=' "$WORK/harbor/common/config/core/env")
pair_before=$(cat "$WORK/data/secret/core/private_key.pem" "$WORK/data/secret/registry/root.crt" | sha256sum | cut -c1-16)
key_before=$(cat "$WORK/data/secret/keys/secretkey")
passwd_before=$(cat "$WORK/harbor/common/config/registry/passwd")
(cd "$WORK/harbor" && ./prepare) > "$WORK/prepare2.log" 2>&1 || fail "second ./prepare"
after_env=$(grep -E '^(CORE_SECRET|JOBSERVICE_SECRET|CSRF_KEY|REGISTRY_CREDENTIAL_PASSWORD)=' "$WORK/harbor/common/config/core/env")
for k in CORE_SECRET JOBSERVICE_SECRET CSRF_KEY REGISTRY_CREDENTIAL_PASSWORD; do
  b=$(echo "$before_env" | grep "^$k=" | cut -d= -f2); a=$(echo "$after_env" | grep "^$k=" | cut -d= -f2)
  [ "$a" != "$b" ] || fail "$k did not change"; printf '    %-30s %s -> %s\n' "$k" "${b:0:8}..." "${a:0:8}..."
done
[ "$(cat "$WORK/harbor/common/config/registry/passwd")" != "$passwd_before" ] && ok "registry/passwd (htpasswd) changed"
pair_after=$(cat "$WORK/data/secret/core/private_key.pem" "$WORK/data/secret/registry/root.crt" | sha256sum | cut -c1-16)
[ "$pair_after" = "$pair_before" ] || fail "token pair changed although both files existed"; ok "token pair kept ($pair_after)"
[ "$(cat "$WORK/data/secret/keys/secretkey")" = "$key_before" ] || fail "secretkey changed"; ok "secretkey kept"
rm "$WORK/data/secret/registry/root.crt"
(cd "$WORK/harbor" && ./prepare) > "$WORK/prepare3.log" 2>&1 || fail "third ./prepare"
pair_new=$(cat "$WORK/data/secret/core/private_key.pem" "$WORK/data/secret/registry/root.crt" | sha256sum | cut -c1-16)
[ "$pair_new" != "$pair_before" ] || fail "no new pair after deleting root.crt"
openssl x509 -in "$WORK/data/secret/registry/root.crt" -noout -pubkey | cmp -s - <(openssl rsa -in "$WORK/data/secret/core/private_key.pem" -pubout 2>/dev/null) \
  && ok "root.crt deleted -> NEW pair ($pair_new), cert matches the new key"

# ---------------------------------------------------------------------------------------------- HTTPS
step "HTTPS: compose down, harbor.yml with https + the test cert, ./prepare, up -d"
(cd "$WORK/harbor" && $COMPOSE down -v) >/dev/null 2>&1
write_harbor_yml https
(cd "$WORK/harbor" && ./prepare) > "$WORK/prepare4.log" 2>&1 || { cat "$WORK/prepare4.log"; fail "./prepare https"; }
for cert in "$WORK/data/secret/cert"/*; do
  if [ -e "$cert" ] || [ -L "$cert" ]; then printf '    secret/cert: %s %s\n' "$(stat -c '%A %u:%g' "$cert")" "${cert##*/}"; fi
done
(cd "$WORK/harbor" && $COMPOSE up -d) 2>&1 | tail -2 | sed 's/^/    /'
wait_ping "https://127.0.0.1:$HTTPS_PORT" --cacert "$CERTS/ca.crt"
ok "https /api/v2.0/ping -> Pong (verified against the test CA)"
code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$HTTP_PORT/api/v2.0/ping")
ok "http port redirects: $code"
token_flow "https://127.0.0.1:$HTTPS_PORT" --cacert "$CERTS/ca.crt"
push_pull "127.0.0.1:$HTTPS_PORT" 2
ok "pulled over https from the same storage: $(curl -s --cacert "$CERTS/ca.crt" -H "Authorization: Bearer $(curl -s --cacert "$CERTS/ca.crt" -u "admin:$PASS" "https://127.0.0.1:$HTTPS_PORT/service/token?service=harbor-registry&scope=repository:library/hello:pull" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')" "https://127.0.0.1:$HTTPS_PORT/v2/library/hello/tags/list")"

step "core refuses to start without its database or Redis (same mounts and env_file as the compose file)"
refuse() {  # $1 = label, rest = extra docker run args
  local label=$1; shift
  local out rc=0
  out=$(docker run --rm --env-file "$WORK/harbor/common/config/core/env" -e HARBOR_DOUBLE_CONNECT_TIMEOUT=4 "$@" \
    -v "$WORK/harbor/common/config/core/app.conf:/etc/core/app.conf" \
    -v "$WORK/data/secret/core/private_key.pem:/etc/core/private_key.pem" \
    -v "$WORK/data/secret/keys/secretkey:/etc/core/key" "harbor-double/harbor-core:v$VERSION" 2>&1) || rc=$?
  [ "$rc" != 0 ] || fail "core started with $label"
  ok "$label -> exit $rc: $(echo "$out" | grep "harbor-core-double: FATAL" | tail -1 | cut -d" " -f2- | cut -c1-140)"
}
refuse "PostgreSQL unreachable" -e POSTGRESQL_PORT=1
refuse "wrong PostgreSQL password" -e POSTGRESQL_PASSWORD=wrong
refuse "Redis unreachable" -e "_REDIS_URL_CORE=redis://:$REDISPW@$GW:1"

step "teardown"
cleanup; trap - EXIT
ok "compose down -v, test services removed, $WORK removed"
printf '\nprove-v2: ALL CHECKS PASSED in %ss\n' "$(( $(date +%s) - t0 ))"
