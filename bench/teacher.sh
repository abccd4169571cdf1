#!/usr/bin/env bash
# Teacher benchmark (issue 3 / 12): trains a teacher with the given recipe on a data set
# and prints one markdown table: the teacher's linear-probe accuracy beside random
# weights of the same architecture, raw pixels, and "none" of the student ConvNet.
#   bench/teacher.sh [OUT_DIR] [extra `ssdd teacher` options...]
# Example: bench/teacher.sh runs/bench-teacher --preset cpu
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/bench-teacher}; shift || true
ssdd=${SSDD_BIN:-./build/ssdd}
[ -x "$ssdd" ] || bash scripts/build.sh
mkdir -p "$out"
start=$(date +%s)
"$ssdd" teacher --out "$out/teacher" --resume "$@" 2>&1 | tee "$out/teacher.log" | grep -v '^teacher [0-9]' || true
wall=$(( $(date +%s) - start ))
data=$(python3 -c "import json;print(json.load(open('$out/teacher/config.json'))['data'])")
arch=$(python3 -c "import json;print(json.load(open('$out/teacher/teacher.json'))['arch'])")
"$ssdd" probe --data "$data" --encoder "random:$arch" --json "$out/random.json" >/dev/null
"$ssdd" probe --data "$data" --encoder pixels --json "$out/pixels.json" >/dev/null
"$ssdd" probe --data "$data" --encoder "random:convnet:64-64-64" --json "$out/none.json" >/dev/null
python3 - "$out" "$wall" <<'PY'
import json, sys, datetime, platform
out, wall = sys.argv[1], int(sys.argv[2])
m = json.load(open(f"{out}/teacher/metrics.json"))
cfg = json.load(open(f"{out}/teacher/config.json"))
acc = lambda f: 100 * json.load(open(f"{out}/{f}.json"))["test_accuracy"]
print(f"Teacher benchmark, {datetime.date.today()}, {platform.node()}, {m['threads']} thread(s)\n")
print(f"recipe: {cfg['arch']}, projector {cfg['projector']}, {cfg['optimizer']} lr {cfg['lr']}, "
      f"{cfg['epochs']} epochs, batch {cfg['batch_size']}, crop scale >= {cfg['crop_scale_min']}\n")
print("| encoder | linear-probe top-1 (%) | features |")
print("|---|---|---|")
print(f"| Barlow Twins teacher ({cfg['arch']}) | {100*m['probe_test_accuracy']:.2f} | {m['feature_dim']} |")
print(f"| same architecture, random weights | {acc('random'):.2f} | |")
print(f"| raw pixels | {acc('pixels'):.2f} | |")
print(f"| none: random ConvNet 64-64-64, flattened | {acc('none'):.2f} | |")
print(f"\ntraining: {m['images_per_second']:.0f} images/s, {m['train_seconds']/60:.1f} min; teacher stage wall time {wall/60:.1f} min")
PY
[ "$(python3 -c "import json;print(len(json.load(open('$out/teacher/metrics.json')).get('probe_curve', [])))")" -gt 1 ] && { echo; bench/teacher-curve.sh "$out/teacher"; }
true
