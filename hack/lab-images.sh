#!/usr/bin/env bash
# Build (or reuse from cache) everything the lab needs: the host images and the Harbor installer DOUBLE
# for each Harbor generation the scenarios deploy. Every step is cached by a hash of its recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)
tests/lab/images/build.sh all
for version in ${LAB_HARBOR_VERSIONS:-2.14.4 2.15.0 2.15.2 1.5.4}; do
  tests/harbor_double/build-installer.sh "$version"
done
echo "==> lab images and installer doubles ready in $(( $(date +%s) - started )) s"
