#!/usr/bin/env bash
# Sets up, builds and runs the main job on the embedded default data (Fashion-MNIST from
# Debian's package): a Barlow Twins teacher, then both distillation methods at budget 100.
# Output goes to runs/quickstart (or the folder given as $1); rerunning resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
out=${1:-runs/quickstart}
ssdd=./build/ssdd
"$ssdd" teacher --preset cpu --out "$out/teacher" --resume
for method in ours krrst; do
  if [ ! -f "$out/$method/distilled.pt" ]; then
    "$ssdd" distill --preset cpu --teacher "$out/teacher" --method "$method" --out "$out/$method" --resume
  fi
  "$ssdd" inspect "$out/$method/distilled.pt" | tail -n 16
done
