#!/bin/bash
# Issue 23: distillation seed 1 of the budget split's two leading splits (ours = k_x 256,
# kx192 = k_x 192) and of random-eq, evaluated beside seed 0's sets in one grid (the sweep's
# grid config: 300 SGD steps, one student seed, both probes). eval starts as a copy of the
# sweep's evaluate folder so seed 0's cells are reused by key. Rerun to resume.
set -euo pipefail
S=/work/runs/cifar10-budget-split          # the seed-0 sweep
R=/work/runs/cifar10-budget-split-s1
BIN=$S/ssdd
T=/root/.cache/ssdd/teachers/cifar10-1b31d2d7edbbb85f
for set in ours kx192; do
  d=$R/seed1/$set
  if [ ! -f $d/distilled.pt ]; then
    resume=(); [ -d $d ] && resume=(--resume)
    $BIN distill --config $S/run/distill/$set/config.json --seed 1 --threads 2 --out $d "${resume[@]}"
  fi
done
[ -f $R/seed1/random-eq/distilled.pt ] || \
  $BIN baseline random --count-targets --teacher $T --budget 100 --seed 1 --threads 2 --out $R/seed1/random-eq
[ -d $R/eval ] || cp -r $S/run/evaluate/main $R/eval
sets=""
for set in ours kx192; do sets="$sets,$set=$S/run/distill/$set/distilled.pt,$set=$R/seed1/$set/distilled.pt"; done
sets="${sets#,},random-eq=$S/run/baselines/random-eq/distilled.pt,random-eq=$R/seed1/random-eq/distilled.pt"
$BIN evaluate --config $S/run/evaluate/main/config.json --distilled "$sets" --targets source --seeds 1 \
  --pretrain-steps 300 --probes standardized,krrst --finetune false --teacher-row true --none-row true \
  --threads 2 --out $R/eval --force
echo ALL DONE
