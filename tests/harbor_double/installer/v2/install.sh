#!/usr/bin/env bash
# Harbor installer DOUBLE: install.sh with Harbor 2.x's steps (docker load, prepare, compose down -v, up -d).
# The registryops.harbor_ha roles never call it (down -v is a full outage); it ships for parity.
set -e

DIR="$(cd "$(dirname "$0")" && pwd)"
source "$DIR/common.sh"
set +o noglob

usage=$'Please set hostname and other necessary attributes in harbor.yml first. DO NOT use localhost or 127.0.0.1 for hostname, because Harbor needs to be accessed by external clients.
The Harbor installer double does not support --with-trivy.'
item=0
DOCKER_COMPOSE=docker-compose

# no option is supported: the first argument always ends the script
if [ $# -gt 0 ]; then
    case $1 in
        --help) note "$usage"; exit 0;;
        *) note "$usage"; exit 1;;
    esac
fi

cd "$DIR"

h2 "[Step $item]: checking if docker is installed ..."; ((item += 1))
check_docker

h2 "[Step $item]: checking docker-compose is installed ..."; ((item += 1))
check_dockercompose

# like [ -f harbor*.tar.gz ]: exactly one match, a regular file
tarballs=(harbor*.tar.gz)
if [ ${#tarballs[@]} -eq 1 ] && [ -f "${tarballs[0]}" ]; then
    h2 "[Step $item]: loading Harbor images ..."; ((item += 1))
    docker load -i ./harbor*.tar.gz
fi
echo ""

h2 "[Step $item]: preparing environment ..."; ((item += 1))
if [ -n "$host" ]; then
    sed "s/^hostname: .*/hostname: $host/g" -i ./harbor.yml
fi

h2 "[Step $item]: preparing harbor configs ..."; ((item += 1))
./prepare
echo ""

# Like Harbor's install.sh: always "down -v" (its test of the ps output is always true).
note "stopping existing Harbor instance ..."
$DOCKER_COMPOSE down -v
echo ""

h2 "[Step $item]: starting Harbor ..."
$DOCKER_COMPOSE up -d

success "----Harbor has been installed and started successfully.----"
