#!/bin/bash
# Issue 23's budget-split sweep on CIFAR-10 (configs/cifar10-budget-split.toml) on 2 cores.
# `ours` at k_x 256, k_y 32 is cifar10-convergence's `ours` (the same settings, so the same
# stage hash): its folder is copied in and skipped. Rerun to resume. Published with
# scripts/publish-science.sh run docs/results/cifar10-budget-split.
set -euo pipefail
R=/work/runs/cifar10-budget-split
BIN=$R/ssdd                              # a copy, so rebuilding the tree does not change it mid-run
force=()
if [ ! -e $R/run/run.json ]; then  # the run folder is made here, for the copy: --force claims it
  mkdir -p $R/run/distill
  cp -r /work/runs/cifar10-convergence/run/distill/ours $R/run/distill/
  force=(--force)
fi
$BIN run $R/cifar10-budget-split.toml --out $R/run --threads 2 "${force[@]}"
echo "SWEEP DONE"
