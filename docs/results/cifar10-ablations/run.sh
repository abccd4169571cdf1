#!/bin/bash
# Issue 23: the paper's three ablations of `ours` on CIFAR-10 (cpu preset, k_x 256, the shipped
# teacher), distillation seeds 0 and 1 (seed 1 under seed1/), each `ours`' config (the budget-split sweep's `ours`, itself
# cifar10-convergence's) with one addition removed: no parameterization (free images and targets
# in the same budget), random augmentation instead of the predefined rotations, every view's
# targets stored instead of approximation networks. Evaluated beside that `ours` and random-eq (both
# seeds: the budget-split sweep's and its seed-1 run's) in one grid of the sweep's protocol (300 SGD
# steps, three student seeds, both probes; a method's two seeds pool); eval starts as a copy of the
# sweep's evaluate folder so those cells are reused by key. Rerun to resume.
set -euo pipefail
S=/work/runs/cifar10-budget-split
S1=/work/runs/cifar10-budget-split-s1/seed1   # ours and random-eq at distillation seed 1
R=/work/runs/cifar10-ablations
BIN=$S/ssdd                              # the build the sweep ran (LibTorch's convolutions)
base=$S/run/distill/ours/config.json
declare -A flags=([ours-no-param]="--parameterization false" [ours-random-aug]="--augmentation random"
                  [ours-stored-targets]="--approximation false")
dir_of() { if [ $2 = 0 ]; then echo $R/$1; else echo $R/seed$2/$1; fi; }
for seed in 0 1; do
  for set in ours-no-param ours-random-aug ours-stored-targets; do
    d=$(dir_of $set $seed)
    if [ ! -f $d/distilled.pt ]; then
      resume=(); [ -d $d ] && resume=(--resume)
      $BIN distill --config $base ${flags[$set]} --seed $seed --threads 2 --out $d "${resume[@]}"
    fi
  done
done
[ -d $R/eval ] || cp -r $S/run/evaluate/main $R/eval
sets="ours=$S/run/distill/ours/distilled.pt,ours=$S1/ours/distilled.pt"
sets="$sets,random-eq=$S/run/baselines/random-eq/distilled.pt,random-eq=$S1/random-eq/distilled.pt"
for set in ours-no-param ours-random-aug ours-stored-targets; do
  for seed in 0 1; do sets="$sets,$set=$(dir_of $set $seed)/distilled.pt"; done
done
$BIN evaluate --config $S/run/evaluate/main/config.json --distilled "$sets" --targets source --seeds 3 \
  --pretrain-steps 300 --probes standardized,krrst --finetune false --teacher-row true --none-row true \
  --threads 2 --out $R/eval --force
echo ALL DONE
