#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs ctest and ends
# with ctest's summary. Exit status is non-zero when any test fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/build.sh" "$@"
build_dir=${DIALGRID_BUILD_DIR:-$root/build}
cd "$build_dir"
ctest --output-on-failure --timeout 300 -j"$(nproc)"
