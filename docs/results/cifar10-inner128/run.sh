#!/bin/bash
# Issue 23, finding 3 (a rank-deficient kernel for `ours`), the remedy left open on 2026-12-04:
# an inner model with more features than rows. At the cpu preset `ours` on CIFAR-10 has 1,420
# kernel rows (355 images x 4 views) and the inner ConvNet 32-32-32 gives 513 features; the
# ConvNet 128-128-128 gives 2,049. This distils the claims grid's `ours` (k_x 256, m 355, seed 0,
# 1,000 iterations: its config.json) again with that one change, and its krrst-eq too (100 rows,
# never rank-deficient: does the wider model help both methods, or only the one whose kernel
# was short of features?). Both are evaluated in the claims grid's protocol (300 SGD steps, 3
# student seeds, both probes) beside the grid's seed-0 sets, whose cells are reused by key (eval
# starts as a copy of the claims grid). The grid runs after each set. Rerun to resume.
set -euo pipefail
C=/work/runs/cifar10-claims                # the claims grid's run (docs/results/cifar10-claims/run.sh)
R=/work/runs/cifar10-inner128
BIN=$C/ssdd                                # the build the claims grid ran
[ -d $R/eval ] || cp -r $C/run/evaluate/main $R/eval
sets="ours=$C/run/distill/ours/distilled.pt,krrst-eq=$C/run/distill/krrst-eq/distilled.pt"
sets="$sets,random-eq=$C/run/baselines/random-eq/distilled.pt"
sets="$sets,random-rot-eq=$C/run/baselines/random-rot-eq/distilled.pt"
for method in ours krrst-eq; do
  d=$R/$method-inner128
  if [ ! -f $d/distilled.pt ]; then
    resume=(); [ -d $d ] && resume=(--resume)
    $BIN distill --config $C/run/distill/$method/config.json --pool-arch convnet:128-128-128 --seed 0 \
      --threads 2 --out $d "${resume[@]}"
  fi
  sets="$sets,$method-inner128=$d/distilled.pt"
  $BIN evaluate --config $C/run/evaluate/main/config.json --distilled "$sets" --targets source --seeds 3 \
    --pretrain-steps 300 --probes standardized,krrst --finetune false --teacher-row true --none-row true \
    --threads 2 --out $R/eval --force
done
echo ALL DONE
