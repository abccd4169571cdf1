#!/bin/bash
# Issue 23, after run.sh: distillation seeds 1 and 2 of krrst-eq and kmeans-eq (so every
# storage-equal row has three sets), added to the same grid (earlier cells reused by key), and the
# `none` row at student seeds 1 and 2 (one grid folder each, --seed S: the untrained network of
# seed S), pooled in docs/science.md with seed 0's from the distillation-seeds grid. Rerun to resume.
set -euo pipefail
R=/work/runs/cifar10-storage-equal
T=$R/teacher
BIN=$R/ssdd
GRID=$R/grid.json
baseline() {  # method seed out [flags]
  [ -f $3/distilled.pt ] || $BIN baseline $1 --teacher $T --budget 100 --seed $2 --threads 2 --out $3 "${@:4}"
}
sets="random-eq=$R/seed0/random-eq/distilled.pt,kmeans-eq=$R/seed0/kmeans-eq/distilled.pt"
sets="$sets,krrst-eq=$R/seed0/krrst-eq/distilled.pt,kmeans=$R/seed1/kmeans/distilled.pt"
sets="$sets,kmeans=$R/seed2/kmeans/distilled.pt"
for seed in 0 1 2; do sets="$sets,random-rot-eq=$R/seed$seed/random-rot-eq/distilled.pt"; done
for seed in 1 2; do sets="$sets,random-eq=$R/seed$seed/random-eq/distilled.pt"; done
evaluate() {  # out seed sets none-row
  local sets=(); [ -z "$3" ] || sets=(--distilled "$3")
  $BIN evaluate --config $GRID --teacher $T "${sets[@]}" --targets source --seeds 1 --seed $2 \
    --pretrain-steps 300 --probes standardized,krrst --finetune false --teacher-row false --none-row $4 \
    --threads 2 --out $1
}
for seed in 1 2; do
  baseline kmeans $seed $R/seed$seed/kmeans-eq --count-targets
  sets="$sets,kmeans-eq=$R/seed$seed/kmeans-eq/distilled.pt"
done
evaluate $R/eval-steps-300 0 "$sets" false
for seed in 1 2; do
  evaluate $R/eval-none-seed$seed $seed "" true
done
for seed in 1 2; do
  d=$R/seed$seed/krrst-eq
  if [ ! -f $d/distilled.pt ]; then
    resume=""; [ -d $d ] && resume=--resume
    $BIN distill --config $R/krrst-eq.json --seed $seed --threads 2 --out $d $resume
  fi
  sets="$sets,krrst-eq=$d/distilled.pt"
  evaluate $R/eval-steps-300 0 "$sets" false
done
echo ALL DONE
