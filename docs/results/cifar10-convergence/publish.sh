#!/bin/bash
# Copies what docs/ keeps of the cifar10-convergence run folder (no sets, no checkpoints, no
# pretrained models): the run's config, record, log and report, the grid's results, cells and
# log, each set's distillation metrics with its outer loss as means over windows of 10
# iterations (what scripts/science_report.py plots), and each distilled set's pictures.
set -euo pipefail
R=/work/runs/cifar10-convergence
D=${1:?usage: publish.sh DOCS_RESULTS_FOLDER}
mkdir -p $D
cp $R/run.sh $R/publish.sh $R/run/{config.json,config.toml,run.json,log} $D/
[ -f $R/run/report.md ] && cp $R/run/report.md $D/
for g in $R/run/evaluate/*; do
  [ -f $g/results.json ] || continue
  mkdir -p $D/evaluate/${g##*/}
  cp $g/{results.json,results.md,results.svg,cells.jsonl,config.json,log} $D/evaluate/${g##*/}/
done
for s in $R/run/distill/* $R/run/baselines/*; do
  [ -f $s/distilled.pt ] || continue
  d=$D/${s#$R/run/}; mkdir -p $d
  cp $s/config.json $d/
  [ -f $s/metrics.json ] && python3 - $s/metrics.json $d/metrics.json <<'PY'
import json, statistics, sys
m = json.load(open(sys.argv[1]))
loss = m.pop("loss", [])
w = 10
m["loss_windows"] = {"window": w, "mean": [round(statistics.fmean(loss[i:i + w]), 6)
                                         for i in range(0, len(loss) - w + 1, w)]}
json.dump(m, open(sys.argv[2], "w"), indent=1)
PY
  for f in images.png loss.svg; do [ -f $s/$f ] && cp $s/$f $d/; done
done
