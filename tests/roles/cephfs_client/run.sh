#!/usr/bin/env bash
# Role tests of cephfs_client (fuse mode, real Ceph) and preflight on throwaway containers:
# ctest-services (10.239.0.10, Ceph via tests/lab/prepare/services.yml) and ctest-node1/2 (.11/.12), network ctest-net.
#   run.sh up      start the containers and bootstrap the services host (~2 min)
#   run.sh test    converge twice (second run must report changed=0), --check --diff, the preflight play
#   run.sh down    remove the node containers FIRST (a dead Ceph hangs client I/O), then Ceph, then the network
# Needs: the images harbor-ha-lab/services and harbor-ha-lab/node (tests/lab/images), the repo's .venv.
set -euo pipefail
cd "$(dirname "$0")/../../.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_COLLECTIONS_PATH=$PWD/build/collections:$PWD/.venv/lib/python3.11/site-packages
ARGS=(-i tests/roles/cephfs_client/inventory.yml -e @tests/lab/group_vars/all/lab.yml -e @tests/roles/cephfs_client/ctest-vars.yml)
FLAGS=(--cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined --security-opt apparmor=unconfined
       --device /dev/fuse --tmpfs /run --tmpfs /run/lock -v /sys/fs/cgroup:/sys/fs/cgroup:rw --cgroupns=host
       --stop-signal RTMIN+3 --network ctest-net)

idempotent() {  # run a playbook and fail unless every host reports changed=0
  local out; out=$(ansible-playbook "${ARGS[@]}" "$@")
  echo "$out" | tail -n 4
  ! echo "$out" | grep -E 'changed=[1-9]|failed=[1-9]' >/dev/null
}

case "${1:-}" in
  up)
    docker network inspect ctest-net >/dev/null 2>&1 || docker network create --subnet 10.239.0.0/24 ctest-net >/dev/null
    docker run -d --name ctest-services --hostname ctest-services --ip 10.239.0.10 "${FLAGS[@]}" \
      harbor-ha-lab/services:latest /lib/systemd/systemd >/dev/null
    for i in 1 2; do
      docker run -d --name "ctest-node$i" --hostname "ctest-node$i" --ip "10.239.0.1$i" "${FLAGS[@]}" \
        harbor-ha-lab/node:latest /lib/systemd/systemd >/dev/null
    done
    ansible-playbook "${ARGS[@]}" tests/lab/prepare/boot.yml
    ansible-playbook "${ARGS[@]}" tests/lab/prepare/services.yml
    ;;
  test)
    ansible-playbook "${ARGS[@]}" tests/roles/cephfs_client/converge.yml
    idempotent tests/roles/cephfs_client/converge.yml
    idempotent tests/roles/cephfs_client/converge.yml --check --diff
    idempotent tests/roles/preflight/converge.yml
    idempotent tests/roles/preflight/converge.yml --check
    ;;
  down)
    docker rm -f ctest-node1 ctest-node2 >/dev/null 2>&1 || true
    docker rm -f ctest-services >/dev/null 2>&1 || true
    docker network rm ctest-net >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 up|test|down" >&2
    exit 2
    ;;
esac
