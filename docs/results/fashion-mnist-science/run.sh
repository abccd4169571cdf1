#!/bin/bash
# Issue 23 on Fashion-MNIST: configs/fashion-mnist-science.toml run in passes, so that a
# publishable grid exists early: pass 1 distillation seed 0 without the ablations, pass 2
# seeds 0-1, pass 3 seeds 0-2, pass 4 the whole config (ablations added). Each pass reuses
# the stages and grid cells of the one before (same settings, same keys). Rerun to resume.
set -euo pipefail
R=/work/runs/fm-science
BIN=$R/ssdd                  # a copy, so rebuilding the tree does not change it mid-run
CONFIG=$R/fashion-mnist-science.toml   # a copy of configs/fashion-mnist-science.toml
without_ablations() {  # seeds -> a pass config
  python3 - "$CONFIG" "$1" > $R/pass-$1.toml <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r"\n\[distill\.ours-[a-z-]+\]\n(?:[^\n\[]+\n)+", "\n", text)
text = text.replace("distill_seeds = 3", f"distill_seeds = {sys.argv[2]}")
print(text, end="")
PY
}
for seeds in 1 2 3; do
  without_ablations $seeds
  $BIN run $R/pass-$seeds.toml --out $R/run --threads 2
done
$BIN run $CONFIG --out $R/run --threads 2
echo ALL DONE
