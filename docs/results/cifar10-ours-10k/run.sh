#!/bin/bash
# Issue 23, finding 2 (distillation far from converged), the row left open on 2026-12-04: `ours`
# at 10,000 outer iterations (configs/cifar10-convergence.toml's ours-10k). It is the claims
# grid's `ours` (k_x 256, m 355, seed 0: its config.json) with --iterations 10000 (the lr decays
# over the run's own length), evaluated in the claims grid's protocol (300 SGD steps, 3 student
# seeds, both probes) beside the grid's seed-0 sets, whose cells are reused by key (eval starts
# as a copy of the claims grid). Rerun to resume. Published here as a run folder (evaluate/main,
# distill/ours-10k with its loss as window means, distill/ours a link to the claims grid's set) so
# that scripts/science_report.py tables both lengths and draws their loss curves.
set -euo pipefail
C=/work/runs/cifar10-claims                # the claims grid's run (docs/results/cifar10-claims/run.sh)
R=/work/runs/cifar10-ours-10k
BIN=$C/ssdd                                # the build the claims grid ran
d=$R/ours-10k
[ -d $R/eval ] || cp -r $C/run/evaluate/main $R/eval
if [ ! -f $d/distilled.pt ]; then
  resume=(); [ -d $d ] && resume=(--resume)
  $BIN distill --config $C/run/distill/ours/config.json --iterations 10000 --seed 0 \
    --threads 2 --out $d "${resume[@]}"
fi
sets="ours=$C/run/distill/ours/distilled.pt,krrst-eq=$C/run/distill/krrst-eq/distilled.pt"
sets="$sets,random-eq=$C/run/baselines/random-eq/distilled.pt,ours-10k=$d/distilled.pt"
$BIN evaluate --config $C/run/evaluate/main/config.json --distilled "$sets" --targets source --seeds 3 \
  --pretrain-steps 300 --probes standardized,krrst --finetune false --teacher-row true --none-row true \
  --threads 2 --out $R/eval --force
echo ALL DONE
