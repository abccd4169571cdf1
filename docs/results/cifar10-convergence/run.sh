#!/bin/bash
# Issue 23's convergence rows on CIFAR-10 (configs/cifar10-convergence.toml) on 2 cores, in
# passes so that a publishable grid exists early: pass a distils krrst (1k, 3k), ours (1k)
# and random; pass b adds krrst-10k; pass c ours-3k; the last pass is the whole config
# (ours-10k: hours on 2 cores). Each pass reuses the stages and grid cells of the one before
# (same settings, same keys). Rerun to resume. Published with
# scripts/publish-science.sh run docs/results/cifar10-convergence.
set -euo pipefail
R=/work/runs/cifar10-convergence
BIN=$R/ssdd                             # a copy, so rebuilding the tree does not change it mid-run
CONFIG=$R/cifar10-convergence.toml      # a copy of configs/cifar10-convergence.toml
without() {  # pass-name section... -> a pass config without those [distill.X] sections
  python3 - "$CONFIG" "${@:2}" > $R/pass-$1.toml <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for name in sys.argv[2:]:
    text = re.sub(r"\n\[distill\." + re.escape(name) + r"\]\n(?:[^\n\[]+\n)+", "\n", text)
print(text, end="")
PY
}
without a ours-3k krrst-10k ours-10k
without b ours-3k ours-10k
without c ours-10k
for pass in a b c; do
  $BIN run $R/pass-$pass.toml --out $R/run --threads 2
done
echo "PASSES DONE (ours-10k: $BIN run $CONFIG --out $R/run --threads 2)"
