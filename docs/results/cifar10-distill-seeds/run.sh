#!/bin/bash
# Issue 23: distillation seeds 1 and 2 of ours, random and random-rot on CIFAR-10 (cpu preset,
# shipped teacher), pooled with the equal-steps pilot's seed-0 sets in one grid (300 SGD steps,
# one student seed, both probes). eval-steps-300 began as a copy of the pilot's folder
# (runs/cifar10-equal-steps/steps-300), so its seed-0 cells are reused by key. Rerun to resume.
set -euo pipefail
R=/work/runs/cifar10-distill-seeds
T=/root/.cache/ssdd/teachers/cifar10-1b31d2d7edbbb85f
BIN=$R/ssdd   # a copy, so rebuilding the tree does not change it mid-run
[ -x $BIN ] || cp /work/wt/build/ssdd $BIN
P=/work/runs/cifar10-cpu   # the cifar10-cpu run folder (configs/cifar10-cpu.toml)
sets="krrst=$P/distill/krrst/distilled.pt,kmeans=$P/baselines/kmeans/distilled.pt"
sets="$sets,ours=$P/distill/ours/distilled.pt,random=$P/baselines/random/distilled.pt"
sets="$sets,random-rot=/work/runs/cifar10-equal-steps/random-rot/distilled.pt"
for seed in 1 2; do
  d=$R/seed$seed
  mkdir -p $d
  if [ ! -f $d/ours/distilled.pt ]; then
    resume=""; [ -d $d/ours ] && resume=--resume
    $BIN distill --config $P/distill/ours/config.json --seed $seed --threads 2 --out $d/ours $resume
  fi
  for b in random random-rot; do
    [ -f $d/$b/distilled.pt ] || $BIN baseline $b --teacher $T --budget 100 --seed $seed --threads 2 --out $d/$b
  done
  sets="$sets,ours=$d/ours/distilled.pt,random=$d/random/distilled.pt,random-rot=$d/random-rot/distilled.pt"
  $BIN evaluate --config /work/runs/cifar10-equal-steps/steps-300/config.json --distilled "$sets" \
    --targets source --seeds 1 --pretrain-steps 300 --probes standardized,krrst --finetune false \
    --teacher-row true --none-row true --threads 2 --out $R/eval-steps-300
done
echo ALL DONE
