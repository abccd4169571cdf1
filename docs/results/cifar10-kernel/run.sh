#!/bin/bash
# Issue 23, finding 3 (a rank-deficient kernel for `ours`): on CIFAR-10 the cpu preset's inner
# ConvNet 32-32-32 gives 513 kernel features for `ours`' 1,420 views. Two remedies, each the
# budget-split sweep's `ours` config (k_x 256, m 355, seed 0, 1,000 iterations) with one change:
# f64 = the kernels, Cholesky factor and solve in float64; inner128 = inner ConvNet 128-128-128
# (2,049 features, more than the rows). Evaluated beside that `ours` and random-eq in one grid of
# the sweep's protocol (300 SGD steps, one student seed, both probes); eval starts as a copy of the
# ablations' seed-0 grid so those cells are reused by key. The grid runs after each set, so a
# stopped run keeps what it has. inner128 distils with the Winograd build (main at bc177f4, copied
# to ssdd-winograd: its wide inner layers are 16x the narrow model's work, about 2x faster there);
# every grid cell runs on the sweep's build. Rerun to resume.
set -euo pipefail
S=/work/runs/cifar10-budget-split
R=/work/runs/cifar10-kernel
BIN=$S/ssdd                              # the build the sweep ran (LibTorch's convolutions)
base=$S/run/distill/ours/config.json
declare -A bins=([ours-f64]=$BIN [ours-inner128]=$R/ssdd-winograd)
declare -A flags=([ours-f64]="--krr-precision float64" [ours-inner128]="--pool-arch convnet:128-128-128")
[ -d $R/eval ] || cp -r /work/runs/cifar10-ablations/eval-seed0 $R/eval
sets="ours=$S/run/distill/ours/distilled.pt,random-eq=$S/run/baselines/random-eq/distilled.pt"
for set in ours-f64 ours-inner128; do
  d=$R/$set
  if [ ! -f $d/distilled.pt ]; then
    resume=(); [ -d $d ] && resume=(--resume)
    ${bins[$set]} distill --config $base ${flags[$set]} --seed 0 --threads 2 --out $d "${resume[@]}"
  fi
  sets="$sets,$set=$d/distilled.pt"
  $BIN evaluate --config $S/run/evaluate/main/config.json --distilled "$sets" --targets source --seeds 1 \
    --pretrain-steps 300 --probes standardized,krrst --finetune false --teacher-row true --none-row true \
    --threads 2 --out $R/eval --force
done
echo ALL DONE
