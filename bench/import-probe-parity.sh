#!/usr/bin/env bash
# Does an imported teacher probe as it does in PyTorch? (issue 24) One run on one machine:
# bench/import_probe_parity.py builds a torchvision ResNet18 (CIFAR stem), saves its
# state_dict and probes it on CIFAR-10 with ssdd's linear protocol in plain PyTorch, over
# several probe seeds; then `ssdd teacher import` maps the same file and probes it. Prints a
# markdown table: Python's accuracy per seed, their mean, ssdd's, and the difference.
#   bench/import-probe-parity.sh [--threads N] [--epochs N] [--seeds N] [--padding 1|2]
# Needs Debian's python3-torch and python3-torchvision (scripts/setup-tests.sh) and CIFAR-10
# in ssdd's data folder (scripts/extract-data.sh). About 20 minutes on 2 cores: each side
# computes features of 60,000 images with a full-width ResNet18.
# Environment: SSDD_BIN (default build/ssdd), PYTHON (default /usr/bin/python3), SSDD_DATA
# (default: ssdd's cache, $SSDD_CACHE or ~/.cache/ssdd, then /data).
set -euo pipefail
cd "$(dirname "$0")/.."
ssdd=${SSDD_BIN:-build/ssdd}
python=${PYTHON:-/usr/bin/python3}
threads=2; epochs=30; seeds=3; padding=1
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift ;;
    --epochs) epochs=$2; shift ;;
    --seeds) seeds=$2; shift ;;
    --padding) padding=$2; shift ;;
    *) echo "usage: $0 [--threads N] [--epochs N] [--seeds N] [--padding 1|2]" >&2; exit 2 ;;
  esac
  shift
done
data=${SSDD_DATA:-${SSDD_CACHE:-$HOME/.cache/ssdd}/data}
if [ ! -d "$data/cifar10/train" ]; then
  echo "import-probe-parity: no CIFAR-10 under $data (scripts/extract-data.sh extracts it)" >&2
  exit 1
fi
"$python" -c 'import torch, torchvision' 2>/dev/null ||
  { echo "import-probe-parity: $python cannot import torch and torchvision (scripts/setup-tests.sh)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "import-probe-parity: Python side (features, then $seeds probe seeds)" >&2
"$python" bench/import_probe_parity.py "$data" "$work" --epochs "$epochs" --seeds "$seeds" --threads "$threads" \
  --padding "$padding" | tee "$work/python.jsonl" >&2
echo "import-probe-parity: ssdd side" >&2
start=$(date +%s)
"$ssdd" teacher import "$work/state_dict.pt" --data cifar10 --data-dir "$data" --out "$work/teacher" \
  --stem-padding "$padding" --probe-epochs "$epochs" --threads "$threads" >&2
ssdd_seconds=$(( $(date +%s) - start ))

"$python" - "$work/python.jsonl" "$work/teacher/manifest.json" "$ssdd_seconds" "$threads" "$epochs" <<'EOF'
import json, statistics, sys, platform, datetime
python = [json.loads(line) for line in open(sys.argv[1])]
manifest = json.load(open(sys.argv[2]))
ssdd = 100 * manifest["probe_test_accuracy"]
accs = [100 * r["test_accuracy"] for r in python]
mean = statistics.mean(accs)
spread = statistics.pstdev(accs) if len(accs) > 1 else 0.0
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
print(f"Import probe parity, {datetime.date.today()}, {cpu}, {sys.argv[4]} threads, {sys.argv[5]} probe epochs, "
      f"CIFAR-10 (50,000 train / 10,000 test), torchvision ResNet18 with the CIFAR stem ({manifest['arch']})\n")
print("| probe | test top-1 (%) | train top-1 (%) | seconds |")
print("|---|---|---|---|")
for r in python:
    print(f"| PyTorch, seed {r['seed']} | {100 * r['test_accuracy']:.2f} | {100 * r['train_accuracy']:.2f} | "
          f"{r['feature_seconds']:.0f} features + {r['probe_seconds']:.0f} probe |")
print(f"| PyTorch, mean ± sd over {len(accs)} seeds | {mean:.2f} ± {spread:.2f} | | |")
print(f"| ssdd teacher import (seed 0) | {ssdd:.2f} | {100 * manifest['probe_train_accuracy']:.2f} | "
      f"{sys.argv[3]} (whole command) |")
print(f"\nssdd - PyTorch mean: {ssdd - mean:+.2f} points (target: within 0.1)")
EOF
