#!/bin/bash
# Issue 28: the cifar10-claims grid again on the same 36 sets (run.sh made them), its networks
# pretrained with the forward in bf16 (`--pretrain-precision bfloat16`), everything else as
# evaluate/main/config.json; paired with main's cells by scripts/pair-grid-cells.py
# (docs/performance-log.md section 22). Rerun to resume.
set -euo pipefail
R=/work/runs/cifar10-claims
OUT=/work/runs/claims-bf16
BIN=$OUT/ssdd                 # a copy, so rebuilding the tree does not change it mid-run
mkdir -p $OUT
[ -x $BIN ] || cp /work/wt/build/ssdd $BIN
$BIN evaluate --config $R/run/evaluate/main/config.json --pretrain-precision bfloat16 --out $OUT/grid
python3 /work/wt/scripts/pair-grid-cells.py $R/run/evaluate/main $OUT/grid
