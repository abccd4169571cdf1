#!/usr/bin/env bash
# Prints a teacher's linear-probe accuracy against its training time (issue 12), from the
# metrics.json that `ssdd teacher --probe-every N` writes: one row per probed epoch, and the
# images/s of each training segment (a resumed run trains in several), read from its log.
#   bench/teacher-curve.sh TEACHER_DIR
set -euo pipefail
dir=${1:?usage: bench/teacher-curve.sh TEACHER_DIR}
[ -f "$dir/metrics.json" ] || { echo "teacher-curve: no $dir/metrics.json (the run has not finished)" >&2; exit 1; }
python3 - "$dir" <<'PY'
import json, re, sys
d = sys.argv[1]
m, cfg = json.load(open(f"{d}/metrics.json")), json.load(open(f"{d}/config.json"))
print(f"recipe: {cfg['arch']}, projector {cfg['projector']}, {cfg['optimizer']} lr {cfg['lr']}, {cfg['epochs']} epochs, "
      f"batch {cfg['batch_size']}, crop scale >= {cfg['crop_scale_min']}, on {cfg['data']}\n")
print("| epoch | training minutes | probe top-1 (%) |")
print("|---|---|---|")
for p in m.get("probe_curve", []):
    print(f"| {p['epoch']} | {p['train_seconds'] / 60:.1f} | {100 * p['probe_test_accuracy']:.2f} |")
# Training segments: each start or resume line, its thread count, and the last rate it logged.
segments, current = [], None
for line in open(f"{d}/log"):
    start = re.search(r'teacher: (\{.*"threads":(\d+).*\})', line)
    if start:
        current = {"threads": int(start.group(2)), "from": None, "rate": None, "epoch": None}
        segments.append(current)
    progress = re.search(r"epoch (\d+)/\d+ \| loss \S+ \| ([\d.]+) img/s", line)
    if progress and current is not None:
        current["epoch"] = int(progress.group(1))
        current["from"] = current["from"] or int(progress.group(1))
        current["rate"] = float(progress.group(2))
print("\n| segment | threads | epochs | images/s at its end |")
print("|---|---|---|---|")
for i, s in enumerate(segments, 1):
    if s["rate"] is not None:
        print(f"| {i} | {s['threads']} | {s['from']}-{s['epoch']} | {s['rate']:.0f} |")
PY
