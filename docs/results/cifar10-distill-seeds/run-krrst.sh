#!/bin/bash
# Issue 23: a second distillation seed of krrst on CIFAR-10 (cpu preset), added to the
# distillation-seeds grid (300 SGD steps, one student seed, both probes); every earlier cell is
# reused by key. Rerun to resume.
set -euo pipefail
R=/work/runs/cifar10-distill-seeds
BIN=$R/ssdd   # the copy every other set of this grid was distilled and evaluated with
P=/work/runs/cifar10-cpu
d=$R/seed1
if [ ! -f $d/krrst/distilled.pt ]; then
  resume=""; [ -d $d/krrst ] && resume=--resume
  $BIN distill --config $P/distill/krrst/config.json --seed 1 --threads 2 --out $d/krrst $resume
fi
sets="krrst=$P/distill/krrst/distilled.pt,kmeans=$P/baselines/kmeans/distilled.pt"
sets="$sets,ours=$P/distill/ours/distilled.pt,random=$P/baselines/random/distilled.pt"
sets="$sets,random-rot=/work/runs/cifar10-equal-steps/random-rot/distilled.pt"
for seed in 1 2; do
  s=$R/seed$seed
  sets="$sets,ours=$s/ours/distilled.pt,random=$s/random/distilled.pt,random-rot=$s/random-rot/distilled.pt"
done
sets="$sets,krrst=$d/krrst/distilled.pt"
$BIN evaluate --config /work/runs/cifar10-equal-steps/steps-300/config.json --distilled "$sets" \
  --targets source --seeds 1 --pretrain-steps 300 --probes standardized,krrst --finetune false \
  --teacher-row true --none-row true --threads 2 --out $R/eval-steps-300
echo ALL DONE
