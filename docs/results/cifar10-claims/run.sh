#!/bin/bash
# Issue 23: configs/cifar10-claims.toml (ours, krrst-eq, random-eq at 3 distillation seeds x 3
# student seeds, 300 SGD steps, both probes) on 2 cores, with the shipped CIFAR-10 teacher.
# Rerun to resume. Published with scripts/publish-science.sh run docs/results/cifar10-claims run.sh.
set -euo pipefail
R=/work/runs/cifar10-claims
BIN=$R/ssdd                 # a copy, so rebuilding the tree does not change it mid-run
mkdir -p $R
[ -x $BIN ] || cp /work/wt/build/ssdd $BIN
[ -f $R/cifar10-claims.toml ] || cp /work/wt/configs/cifar10-claims.toml $R/
$BIN run $R/cifar10-claims.toml --out $R/run --threads 2
echo "CLAIMS DONE"
