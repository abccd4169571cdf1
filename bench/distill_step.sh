#!/usr/bin/env bash
# Distillation step benchmark (issue 4): runs `ssdd distill` for a few iterations per
# method at a preset, and prints a markdown table: seconds per outer iteration, the
# FLOPs of one iteration counted from the layer shapes, the achieved GFLOP/s, and the
# peak resident memory of the whole process.
#   bench/distill_step.sh TEACHER_DIR [OUT_DIR] [ITERATIONS]
# FLOP count (ConvNet of widths w_1..w_D, 3x3 convs, at H x W; MACs per image
#   c(x) = sum_l H_l W_l w_{l-1} w_l 9 ;  forward FLOPs F = 2 c):
#   outer step  distilled views (T m): forward + input-gradient backward = 2 F each;
#               real views (T n): forward only = F each;
#               kernels and solve: 2 (Tm)^2 p + 2 (Tn)(Tm) p + (Tm)^3 / 3 + 2 (Tm)^2 d,
#               their backward about twice the forward of the kernel products;
#   inner step  distilled views: forward + full backward (data and weights) = 3 F each.
# krrst's crop-flip teacher pass on the real batch is timed but not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
teacher=$1; out=${2:-runs/bench-distill}; iterations=${3:-40}
ssdd=${SSDD_BIN:-./build/ssdd}
mkdir -p "$out"
for method in krrst ours; do
  rm -rf "$out/$method"
  /usr/bin/time -v "$ssdd" distill --preset cpu --teacher "$teacher" --method "$method" \
    --iterations "$iterations" --checkpoint-every 100000 --out "$out/$method" > "$out/$method.log" 2> "$out/$method.time" || {
      cat "$out/$method.time"; exit 1; }
done
python3 - "$out" <<'PY'
import json, re, sys, datetime, platform
out = sys.argv[1]
print(f"Distillation step, cpu preset, {datetime.date.today()}, {platform.node()}\n")
print("| method | m | T | distilled views | real views | s/iter | GFLOP/iter | GFLOP/s | peak RSS (GiB) |")
print("|---|---|---|---|---|---|---|---|---|")
for method in ["krrst", "ours"]:
    cfg = json.load(open(f"{out}/{method}/config.json"))
    met = json.load(open(f"{out}/{method}/metrics.json"))
    meta = json.load(open(f"{cfg['teacher']}/teacher.json"))
    c, h, w = meta["shape"]; d = meta["feature_dim"]
    widths = [int(x) for x in cfg["pool"]["arch"].split(":")[1].split("-")]
    macs, cin = 0, c
    for wl in widths:
        macs += h * w * cin * wl * 9
        cin = wl; h //= 2; w //= 2
    F = 2 * macs
    p = cin * h * w + 1
    m = met["m"]; T = 1 if method == "krrst" else len(cfg["views"].split(","))
    n = cfg["real_batch"]
    s, r = T * m, (1 if method == "krrst" else T) * n
    kernel = 2 * s * s * p + 2 * r * s * p + s ** 3 / 3 + 2 * s * s * d + 2 * r * s * d
    flops = 2 * F * s + F * r + 3 * kernel + 3 * F * s
    spi = 1 / met["iterations_per_second"]
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{out}/{method}.time").read()).group(1))
    print(f"| {method} | {m} | {T} | {s} | {r} | {spi:.3f} | {flops/1e9:.1f} | {flops/1e9/spi:.1f} | {rss/2**20:.2f} |")
PY
