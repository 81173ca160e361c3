#!/usr/bin/env bash
# Harbor installer DOUBLE: helper functions for install.sh (same roles as Harbor's common.sh).
set +e
set -o noglob

h2() { printf "\n%s\n" "$@"; }
note() { printf "\nNote: %s\n" "$@"; }
info() { printf "➜ %s\n" "$@"; }
success() { printf "✔ %s\n" "$@"; }
error() { printf "✖ %s\n" "$@"; }
warn() { printf "➜ %s\n" "$@"; }

set -e

function check_docker {
    if ! docker --version &> /dev/null; then
        error "Need to install docker(20.10.10+) first and run this script again."
        exit 1
    fi
    if [[ $(docker --version) =~ (([0-9]+)\.([0-9]+)([\.0-9]*)) ]]; then
        note "docker version: ${BASH_REMATCH[1]}"
        if [ "${BASH_REMATCH[2]}" -lt 17 ] || { [ "${BASH_REMATCH[2]}" -eq 17 ] && [ "${BASH_REMATCH[3]}" -lt 6 ]; }; then
            error "Need to upgrade docker package to 20.10.10+."
            exit 1
        fi
    else
        error "Failed to parse docker version."
        exit 1
    fi
}

# DOCKER_COMPOSE is read by install.sh, which sources this file
# shellcheck disable=SC2034
function check_dockercompose {
    if docker compose version &> /dev/null; then
        note "$(docker compose version)"
        DOCKER_COMPOSE="docker compose"
    elif [[ $(docker-compose --version 2>/dev/null) =~ (([0-9]+)\.([0-9]+)([\.0-9]*)) ]]; then
        note "docker-compose version: ${BASH_REMATCH[1]}"
        if [ "${BASH_REMATCH[2]}" -lt 1 ] || { [ "${BASH_REMATCH[2]}" -eq 1 ] && [ "${BASH_REMATCH[3]}" -lt 18 ]; }; then
            error "Need to upgrade docker-compose package to 1.18.0+."
            exit 1
        fi
        DOCKER_COMPOSE=docker-compose
    else
        error "Need to install docker-compose(1.18.0+) or a docker-compose-plugin (https://docs.docker.com/compose/) by yourself first and run this script again."
        exit 1
    fi
}
