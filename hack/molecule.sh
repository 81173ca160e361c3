#!/usr/bin/env bash
# Run molecule for every test scenario (or the ones named in MOLECULE_SCENARIOS).
#   hack/molecule.sh test              full sequence (create, prepare, converge, idempotence, verify, destroy)
#   hack/molecule.sh converge default  any molecule command for one scenario
# With several scenarios, `test` runs them side by side (MOLECULE_PARALLEL=0: one after the other). Each lab has its
# own hosts, network, addresses and molecule directory, so they do not meet; on this 2-core machine the smaller labs
# (legacy) finish inside the time of the largest (default), and the machine has memory for both. Every line of a
# scenario's output reaches this terminal live, prefixed with [<scenario>], and goes unprefixed to
# build/molecule-<scenario>.log; a failed scenario's failed tasks and tests are repeated at the end.
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
# Side by side: by default for `test` with several scenarios; MOLECULE_PARALLEL=1 or 0 decides for any command.
if [ "$command" = test ]; then parallel=${MOLECULE_PARALLEL:-1}; else parallel=${MOLECULE_PARALLEL:-0}; fi
[ ${#scenarios[@]} -gt 1 ] || parallel=0
mkdir -p build/lab
hack/lab-images.sh
# Measured figures the verify tests record (shared_checks.record_figure), printed at the end.
figures=build/lab/verify-figures.txt
[ "$command" != test ] || rm -f "$figures"

run_scenario() {
  local scenario=$1 t0 log=build/molecule-$1.log rc=0
  t0=$(date +%s)
  echo "==> molecule $command -s $scenario"
  # The AWX execution environment image (cached by a hash of its inputs): scenario legacy runs jobs in it
  # (molecule/legacy/tests/test_awx_jobs.py). Built in legacy's own lane, so that the other labs do not wait for it.
  if [ "$scenario" = legacy ] && [ "$command" = test ]; then
    hack/ee-image.sh >/dev/null || rc=$?
  fi
  if [ "$rc" -eq 0 ]; then
    molecule "$command" -s "$scenario" 2>&1 | tee "$log" || rc=$?
  fi
  if [ "$rc" -ne 0 ]; then
    echo "==> molecule $command -s $scenario FAILED after $(( $(date +%s) - t0 )) s (log: $log)"
    return 1
  fi
  echo "==> molecule $command -s $scenario: passed in $(( $(date +%s) - t0 )) s"
}

if [ "$parallel" = 1 ]; then
  # Each lane prefixes its lines with its scenario.
  pids=()
  for scenario in "${scenarios[@]}"; do
    run_scenario "$scenario" > >(sed -u "s/^/[$scenario] /") 2>&1 &
    pids+=("$!")
  done
  failed=()
  for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${scenarios[$i]}")
  done
  sleep 1   # the prefixing processes write their last lines
else
  failed=()
  for scenario in "${scenarios[@]}"; do
    run_scenario "$scenario" || { failed+=("$scenario"); break; }
  done
fi
if [ "$command" = test ] && [ -s "$figures" ]; then
  echo "==> figures measured by the verify tests ($figures):"
  sed 's/^/    /' "$figures"
fi
for scenario in "${failed[@]}"; do
  # molecule ends with its destroy step: repeat what failed, so that the tail of the output names it.
  echo "==> molecule $command -s $scenario FAILED; its failed tasks and tests (full log: build/molecule-$scenario.log):"
  sed 's/\x1b\[[0-9;]*m//g' "build/molecule-$scenario.log" | grep -n -B4 -A25 -E 'fatal: \[|failed: \[|FAILED! =>|^(E   |FAILED )|Error: ' | tail -150 || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "==> molecule $command FAILED: ${failed[*]}"
  exit 1
fi
