#!/bin/bash
# Copies what docs/ keeps of the fashion-mnist-science run folder (no sets, no checkpoints,
# no pretrained models): the run's config, record, log and report, each grid's results, cells
# and log, each set's distillation metrics, and seed 0's pictures of ours and krrst.
set -euo pipefail
R=/work/runs/fm-science
D=${1:?usage: publish.sh DOCS_RESULTS_FOLDER}
mkdir -p $D
cp $R/run.sh $R/publish.sh $R/run/{config.json,config.toml,run.json,log,report.md} $D/
for g in $R/run/evaluate/*; do
  mkdir -p $D/evaluate/${g##*/}
  cp $g/{results.json,results.md,results.svg,cells.jsonl,config.json,log} $D/evaluate/${g##*/}/
done
for s in $R/run/distill/* $R/run/baselines/*; do
  [ -f $s/distilled.pt ] || continue
  d=$D/${s#$R/run/}; mkdir -p $d
  [ -f $s/metrics.json ] && python3 -c "import json,sys; m=json.load(open(sys.argv[1])); m.pop('loss',None); \
json.dump(m,open(sys.argv[2],'w'),indent=1)" $s/metrics.json $d/metrics.json
  case ${s##*/} in ours|krrst) cp $s/images.png $s/loss.svg $d/;; random|random-rot) cp $s/images.png $d/;; esac
done
