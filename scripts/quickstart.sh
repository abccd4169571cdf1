#!/usr/bin/env bash
# Sets up, builds and runs the default experiment (configs/fashion-mnist-cpu.toml) on the
# embedded default data (Fashion-MNIST from Debian's package): the Barlow Twins teacher
# (taken from teachers/ when one is shipped for this config and data, else trained: hours
# on 2 cores), both distillation methods and the baselines at budget 100, the evaluation grid and the
# report. Output goes to runs/fashion-mnist-cpu; rerunning resumes. Extra arguments go to
# `ssdd run` (e.g. `scripts/quickstart.sh quick` for a smoke run of a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
bash scripts/setup.sh
# The executable alone (the suite is scripts/test.sh's), as a unity build: the library's files
# in batches, less than half the compile time of one unit per file.
bash scripts/build.sh -DSSDD_BUILD_TESTS=OFF -DCMAKE_UNITY_BUILD=ON
built=$(date +%s)
./build/ssdd run "$@"
end=$(date +%s)
echo "quickstart: set-up and build $(( (built - start) / 60 )) min, run $(( (end - built) / 60 )) min, total $(( (end - start) / 60 )) min"
