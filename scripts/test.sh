#!/usr/bin/env bash
# Sets up, builds and runs the whole test suite (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/setup-tests.sh
# A unity build: the library's files in batches, less than half the compile time of one unit per file.
bash scripts/build.sh -DSSDD_BUILD_TESTS=ON -DCMAKE_UNITY_BUILD=ON
cd build
ctest --output-on-failure -j "${SSDD_TEST_JOBS:-2}" --timeout 900
