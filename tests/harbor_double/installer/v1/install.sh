#!/usr/bin/env bash
# Harbor 1.x install.sh DOUBLE (registryops.harbor_ha lab): Harbor 1.5's steps, in order: docker load,
# ./prepare [--ha], docker-compose down -v when running, up -d (with --ha: ha/docker-compose.yml).
# The roles never call it. ./prepare needs Python 2 here too.
set -e
usage=$'Please set hostname and other necessary attributes in harbor.cfg first. DO NOT use localhost or 127.0.0.1 for hostname.
Notary and Clair are not part of the Harbor installer double.'
item=0
harbor_ha=
while [ $# -gt 0 ]; do
    case $1 in
        --help) echo "$usage"; exit 0;;
        --ha) harbor_ha=true;;
        *) echo "$usage"; exit 1;;
    esac
    shift || true
done
workdir="$( cd "$( dirname "${BASH_SOURCE[0]}" )" && pwd )"
cd "$workdir"
if grep 'hostname = reg.mydomain.com' &> /dev/null harbor.cfg; then
    echo "$usage"; exit 1
fi
echo "[Step $item]: checking installation environment ..."; ((item += 1))
docker --version
if docker compose version &> /dev/null; then COMPOSE="docker compose"; else COMPOSE=docker-compose; fi
$COMPOSE version
# like [ -f harbor*.tar.gz ]: exactly one match, a regular file
tarballs=(harbor*.tar.gz)
if [ ${#tarballs[@]} -eq 1 ] && [ -f "${tarballs[0]}" ]; then
    echo "[Step $item]: loading Harbor images ..."; ((item += 1))
    docker load -i ./harbor*.tar.gz
fi
echo "[Step $item]: preparing environment ..."; ((item += 1))
./prepare ${harbor_ha:+--ha}
echo "[Step $item]: checking existing instance of Harbor ..."; ((item += 1))
if [ -n "$($COMPOSE -f docker-compose.yml ps -q)" ]; then
    echo "stopping existing Harbor instance ..."
    $COMPOSE -f docker-compose.yml down -v
fi
echo "[Step $item]: starting Harbor ..."
if [ -n "$harbor_ha" ]; then
    mv docker-compose.yml docker-compose.yml.bak
    cp ha/docker-compose.yml docker-compose.yml
fi
$COMPOSE -f docker-compose.yml up -d
echo "✔ ----Harbor has been installed and started successfully.----"
