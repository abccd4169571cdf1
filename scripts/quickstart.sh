#!/usr/bin/env bash
# Sets up, builds and runs the main job on the embedded default data (Fashion-MNIST
# from Debian's package). Output goes to runs/ (or the folder given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
out=${1:-runs/fashion-mnist-teacher}
./build/ssdd teacher --preset cpu --out "$out" --resume
