#!/usr/bin/env bash
# `make test`: every test, in lanes that run at the same time on this 2-core machine.
#   static lane:   lint, sanity, unit, functional, example-inventory, build-installer-check, one after the other;
#   molecule lane: hack/molecule.sh test, which runs its scenarios (default, legacy) side by side, each a lane.
# Every line is printed live with its lane's name in front: [static], [default], [legacy]. The static lane is
# mostly one busy core (ansible-lint, ansible-test, the functional registries) for about 8 minutes; the labs spend
# much of their time waiting for containers and services. Side by side they take the wall time of the longest lab
# (default) instead of the sum. Every lane runs to its end, so one failure does not hide another; the exit status
# fails when any lane failed, and the failures are repeated at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
STATIC_STAGES=${STATIC_STAGES:-lint sanity unit functional example-inventory build-installer-check}
started=$(date +%s)
static_log=build/test-static.log

static_lane() {
  local stage t0 failed=()
  : >"$static_log"
  for stage in $STATIC_STAGES; do
    t0=$(date +%s)
    echo "==> make $stage" | tee -a "$static_log"
    if make --no-print-directory "$stage" 2>&1 | tee -a "$static_log"; then
      echo "==> make $stage: passed in $(( $(date +%s) - t0 )) s"
    else
      echo "==> make $stage: FAILED in $(( $(date +%s) - t0 )) s"
      failed+=("$stage")
    fi
  done
  echo "==> static lane ended after $(( $(date +%s) - started )) s"
  [ ${#failed[@]} -eq 0 ] || { printf '%s\n' "${failed[@]}" >build/test-static.failed; return 1; }
}

rm -f build/test-static.failed
static_lane > >(sed -u 's/^/[static] /') 2>&1 &
static_pid=$!
molecule_rc=0
hack/molecule.sh test || molecule_rc=$?
static_rc=0
wait "$static_pid" || static_rc=$?
sleep 1   # the prefixing process writes its last lines

echo "==> make test: $(( $(date +%s) - started )) s"
if [ "$static_rc" -ne 0 ]; then
  echo "==> make test FAILED in the static lane: $(tr '\n' ' ' <build/test-static.failed)(output: $static_log)"
fi
if [ "$molecule_rc" -ne 0 ]; then
  echo "==> make test FAILED in the molecule lane (see the failures repeated above; logs: build/molecule-<scenario>.log)"
fi
# An explicit exit: set -e does not stop on a failed test that is not the last of an && list.
if [ "$static_rc" -ne 0 ] || [ "$molecule_rc" -ne 0 ]; then
  exit 1
fi
echo "==> make test: all stages passed"
