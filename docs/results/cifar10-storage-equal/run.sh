#!/bin/bash
# Issue 23: the storage-equal baselines (random-eq, kmeans-eq, krrst-eq: m = 96 images, so
# images + targets fit the budget of 100 in floats, as ours counts them; random-rot-eq: m = 85
# images, each with its four rotations' targets) and kmeans' distillation seeds 1 and 2 on
# CIFAR-10, evaluated under the distillation-seeds grid's protocol (300 SGD steps, one student
# seed, both probes, same shipped teacher). This grid is pooled with that one in
# docs/science.md (scripts/science_report.py A+B). Made on a new machine (AMD EPYC, 2 cores):
# the earlier grid's set files did not survive, so its cells could not be reused by key.
# Rerun to resume.
set -euo pipefail
R=/work/runs/cifar10-storage-equal
T=$R/teacher                 # a copy of teachers/cifar10-cpu (id 1b31d2d7edbbb85f)
BIN=$R/ssdd                  # a copy, so rebuilding the tree does not change it mid-run
KRRST_EQ=$R/krrst-eq.json    # `ssdd distill --preset cpu --method krrst`'s config, 1000 iterations,
                             # count_targets = true (the cifar10-cpu run's krrst config otherwise)
GRID=$R/grid.json            # the distillation-seeds grid's config.json without its sets, teacher, none rows
baseline() {  # method seed out [flags]
  [ -f $3/distilled.pt ] || $BIN baseline $1 --teacher $T --budget 100 --seed $2 --threads 2 --out $3 "${@:4}"
}
baseline random 0 $R/seed0/random-eq --count-targets
baseline kmeans 0 $R/seed0/kmeans-eq --count-targets
if [ ! -f $R/seed0/krrst-eq/distilled.pt ]; then
  resume=""; [ -d $R/seed0/krrst-eq ] && resume=--resume
  $BIN distill --config $KRRST_EQ --seed 0 --threads 2 --out $R/seed0/krrst-eq $resume
fi
baseline kmeans 1 $R/seed1/kmeans
baseline kmeans 2 $R/seed2/kmeans
sets="random-eq=$R/seed0/random-eq/distilled.pt,kmeans-eq=$R/seed0/kmeans-eq/distilled.pt"
sets="$sets,krrst-eq=$R/seed0/krrst-eq/distilled.pt,kmeans=$R/seed1/kmeans/distilled.pt"
sets="$sets,kmeans=$R/seed2/kmeans/distilled.pt"
evaluate() {
  $BIN evaluate --config $GRID --teacher $T \
    --distilled "$sets" --targets source --seeds 1 --pretrain-steps 300 --probes standardized,krrst \
    --finetune false --teacher-row false --none-row false --threads 2 --out $R/eval-steps-300
}
evaluate
# Then random-rot-eq (random-rot's images with every rotation's target, within the budget: m = 85)
# and random-eq's seeds 1 and 2; the cells above are reused by key.
for seed in 0 1 2; do
  baseline random-rot $seed $R/seed$seed/random-rot-eq --count-targets
  sets="$sets,random-rot-eq=$R/seed$seed/random-rot-eq/distilled.pt"
done
evaluate
for seed in 1 2; do
  baseline random $seed $R/seed$seed/random-eq --count-targets
  sets="$sets,random-eq=$R/seed$seed/random-eq/distilled.pt"
done
evaluate
echo ALL DONE
