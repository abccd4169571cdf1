#!/usr/bin/env bash
# Peak resident memory of the distillation iteration, and how it grows with the number
# of distilled images m and with the real batch n (issue 9). Each cell is one
# `ssdd bench` process at the cpu preset's shapes (28x28x1, ConvNet 32-32-32, 4
# rotations, d = 128), so its peak is the step's own plus LibTorch's start-up.
#   bench/memory.sh [THREADS]      (SSDD_BIN: default build/ssdd)
set -euo pipefail
cd "$(dirname "$0")/.."
ssdd=${SSDD_BIN:-build/ssdd}
threads=${1:-$(nproc)}
[ -x "$ssdd" ] || { echo "memory.sh: $ssdd is not built (scripts/build.sh, or set SSDD_BIN)" >&2; exit 1; }
ms=(100 285 570 1140)
ns=(256 512 1024)
printf '| m \\ real batch n |'; for n in "${ns[@]}"; do printf ' %s |' "$n"; done; echo
printf '|---|'; for _ in "${ns[@]}"; do printf -- '---|'; done; echo
for m in "${ms[@]}"; do
  printf '| %s |' "$m"
  for n in "${ns[@]}"; do
    row=$("$ssdd" bench --m "$m" --batch "$n" --res 28 --channels 1 --widths 32,32,32 --rotations 4 --dim 128 \
      --iters 2 --warmup 1 --matmul-size 256 --threads "$threads")
    rss=$(echo "$row" | awk -F'|' '{gsub(/ /, "", $(NF-1)); print $(NF-1)}')
    printf ' %s MiB |' "$rss"
  done
  echo
done
