#!/usr/bin/env bash
# `make lab`: bring up the local multi-host lab (scenario default: Harbor 2.x HA) and run site.yml and
# verify.yml against it; re-running converges the running lab without recreating it.
# `make lab-down`: remove it.  LAB_SCENARIO=legacy selects the Harbor 1.5 lab.
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${LAB_SCENARIO:-default}
case "${1:-up}" in
  up)
    hack/lab-images.sh
    # create and prepare are no-ops on a running lab (molecule remembers both in its state file).
    molecule create -s "$scenario"
    molecule prepare -s "$scenario"
    molecule converge -s "$scenario"
    inventory=$(molecule_inventory() { python3 - "$scenario" <<'PY'
import glob, os, sys
paths = sorted(glob.glob(os.path.expanduser('~/.ansible/tmp/molecule.*.%s/inventory' % sys.argv[1])), key=os.path.getmtime)
print(paths[-1] if paths else '')
PY
}; molecule_inventory)
    ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default ansible-playbook -i "$inventory" playbooks/verify.yml
    hostname=$(ansible-inventory -i "$inventory" --host harbor1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["lab_harbor_hostname"])')
    cat <<EOT

Lab "$scenario" is up.
  registry: https://$hostname (inside the lab network; the LB is 10.231.0.20 from this machine)
  the login matrix is printed above (task "Show the login matrix")
  inventory: $inventory
  run site.yml yourself:
    ANSIBLE_COLLECTIONS_PATH=$ANSIBLE_COLLECTIONS_PATH \\
      $PWD/.venv/bin/ansible-playbook -i $inventory playbooks/site.yml
  remove it: make lab-down
EOT
    ;;
  down)
    molecule destroy -s "$scenario"
    ;;
  *)
    echo "usage: $0 up|down" >&2; exit 2;;
esac
