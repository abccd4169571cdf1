#!/usr/bin/env bash
# Copies into docs/ what a science run's record is, never its sets, checkpoints or pretrained
# models: the run's config, record, log and report; each grid's results, cells, config and log;
# each set's config and distillation metrics, its outer loss kept as means over windows of 10
# iterations (what scripts/science_report.py plots); the pictures of each distilled set of the
# first distillation seed (names without -seedN). Replaces DOCS_DIR's copies of those files.
# Usage: scripts/publish-science.sh RUN_DIR DOCS_DIR [EXTRA_FILE ...]   (extra: drivers, e.g. run.sh)
set -euo pipefail
run=${1:?usage: publish-science.sh RUN_DIR DOCS_DIR [EXTRA_FILE ...]}
dest=${2:?usage: publish-science.sh RUN_DIR DOCS_DIR [EXTRA_FILE ...]}
[ -f "$run/run.json" ] || { echo "publish-science: $run has no run.json: not an 'ssdd run' folder" >&2; exit 1; }
mkdir -p "$dest"
cp "$run"/{config.json,config.toml,run.json,log} "$dest/"
[ -f "$run/report.md" ] && cp "$run/report.md" "$dest/"
for extra in "${@:3}"; do cp "$extra" "$dest/"; done
for grid in "$run"/evaluate/*; do
  [ -f "$grid/results.json" ] || continue
  mkdir -p "$dest/evaluate/${grid##*/}"
  cp "$grid"/{results.json,results.md,results.svg,cells.jsonl,config.json,log} "$dest/evaluate/${grid##*/}/"
done
for set in "$run"/distill/* "$run"/baselines/*; do
  [ -f "$set/distilled.pt" ] || continue
  out=$dest/${set#"$run"/}
  mkdir -p "$out"
  [ -f "$set/config.json" ] && cp "$set/config.json" "$out/"
  [ -f "$set/metrics.json" ] && python3 - "$set/metrics.json" "$out/metrics.json" <<'PY'
import json, statistics, sys
metrics = json.load(open(sys.argv[1]))
loss, window = metrics.pop("loss", []), 10
metrics["loss_windows"] = {"window": window, "mean": [round(statistics.fmean(loss[i:i + window]), 6)
                                                      for i in range(0, len(loss) - window + 1, window)]}
json.dump(metrics, open(sys.argv[2], "w"), indent=1)
PY
  case "$set" in
    */distill/*-seed[0-9]*) ;;
    */distill/*) for f in images.png loss.svg; do [ -f "$set/$f" ] && cp "$set/$f" "$out/"; done ;;
  esac
done
echo "publish-science: $run -> $dest"
