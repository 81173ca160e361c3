#!/usr/bin/env bash
# Run molecule for every test scenario (or the ones named in MOLECULE_SCENARIOS), sequentially:
# the lab hosts are heavy and this machine has 2 cores.
#   hack/molecule.sh test              full sequence (create, prepare, converge, idempotence, verify, destroy)
#   hack/molecule.sh converge default  any molecule command for one scenario
set -euo pipefail
cd "$(dirname "$0")/.."
command=${1:-test}
shift || true
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  # Scenario bench is the lab of `make bench-site` (tests/bench/site_bench.py drives it), not a test.
  read -r -a scenarios <<<"${MOLECULE_SCENARIOS:-$(compgen -G 'molecule/*/molecule.yml' | cut -d/ -f2 | grep -vx bench | sort | tr '\n' ' ')}"
fi
if [ ${#scenarios[@]} -eq 0 ]; then
  echo "no molecule scenario found under molecule/" >&2
  exit 1
fi
hack/lab-images.sh
# The AWX execution environment image (cached by a hash of its inputs): scenario legacy runs jobs in it
# (molecule/legacy/tests/test_awx_jobs.py).
if [[ " ${scenarios[*]} " == *" legacy "* ]]; then
  hack/ee-image.sh >/dev/null
fi
for scenario in "${scenarios[@]}"; do
  echo "==> molecule $command -s $scenario"
  t0=$(date +%s)
  mkdir -p build
  log=build/molecule-$scenario.log
  if ! molecule "$command" -s "$scenario" 2>&1 | tee "$log"; then
    # molecule ends with its destroy step: repeat what failed last, so that the tail of the output names it.
    echo "==> molecule $command -s $scenario FAILED; the failed tasks and tests (full log: $log):"
    sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -n -B4 -A25 -E 'fatal: \[|failed: \[|FAILED! =>|^(E   |FAILED )|Error: ' | tail -150
    exit 1
  fi
  echo "==> molecule $command -s $scenario: passed in $(( $(date +%s) - t0 )) s"
done
