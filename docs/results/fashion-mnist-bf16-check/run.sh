#!/usr/bin/env bash
# Fashion-MNIST: the cpu evaluate preset's grid (ConvNet 64-64-64, 1,500 steps, 3 seeds) on three
# storage-equal baselines, pretrained in fp32 and in bf16 (issue 28's bf16 pretraining check).
set -euo pipefail
bin=/work/runs/claims-bf16/ssdd
t=/work/wt/teachers/fashion-mnist-cpu   # used in place: its reps/ cache is git-ignored
w=/work/runs/fm-bf16
mkdir -p $w
for m in random kmeans random-rot; do
  [ -s $w/$m/distilled.pt ] || $bin baseline $m --teacher $t --count-targets --out $w/$m --threads 2
done
sets=random-eq=$w/random/distilled.pt,kmeans-eq=$w/kmeans/distilled.pt,random-rot-eq=$w/random-rot/distilled.pt
$bin evaluate --preset cpu --teacher $t --distilled $sets --threads 2 --out $w/fp32
$bin evaluate --preset cpu --teacher $t --distilled $sets --threads 2 --pretrain-precision bfloat16 --out $w/bf16
