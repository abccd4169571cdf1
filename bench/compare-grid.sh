#!/usr/bin/env bash
# The evaluation grid's two costs, ssdd beside a PyTorch version written as a careful user
# would (bench/pytorch_grid_cell.py), same shapes, same threads, same allocator settings, same
# machine, one run (issue 28): a pretraining cell (a fresh ConvNet + linear head regressing a
# set's targets by MSE, SGD, batch 256) and a linear probe (30 epochs of SGD on frozen features).
#   bench/compare-grid.sh [--threads N] [--only NAME] [--write]
# --write puts the table into docs/performance-grid.md with the date and the machine.
# Shapes (the grids of configs/fashion-mnist-cpu.toml and configs/cifar10-cpu.toml):
#   pretrain fm-ours     convnet:64-64-64, 1036 pairs of 28x28x1, d 256, 10 epochs (`ours`' T x m)
#   pretrain fm-krrst    convnet:64-64-64,  100 pairs of 28x28x1, d 256, 60 epochs (one step an epoch)
#   pretrain cifar-ours  convnet:64-128-256, 1420 pairs of 32x32x3, d 128, 5 epochs
#   probe    fm          60,000 x 576 features (ConvNet 64-64-64 at 28x28), 10,000 test, 30 epochs
#   probe    cifar       50,000 x 4096 features (ConvNet 64-128-256 at 32x32), 10,000 test, 30 epochs
# Environment: SSDD_BIN (default build/ssdd), PYTHON (default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
ssdd=${SSDD_BIN:-build/ssdd}
python=${PYTHON:-/usr/bin/python3}
threads=$(nproc); only=""; write=0
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift ;;
    --only) only=$2; shift ;;
    --write) write=1 ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "compare-grid.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$ssdd" ] || { echo "compare-grid.sh: $ssdd is not built (scripts/build.sh, or set SSDD_BIN)" >&2; exit 1; }
"$python" -c 'import torch' 2>/dev/null || { echo "compare-grid.sh: $python has no torch (run scripts/setup-bench.sh)" >&2; exit 1; }

cells=("pretrain fm-ours 64,64,64 1036 1 28 256 10" "pretrain fm-krrst 64,64,64 100 1 28 256 60"
       "pretrain cifar-ours 64,128,256 1420 3 32 128 5"
       "probe fm 60000 10000 576 30" "probe cifar 50000 10000 4096 30")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
matmul=4096
for cell in "${cells[@]}"; do
  read -r what name a b c d e f <<<"$cell"
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  if [ "$what" = pretrain ]; then
    ours=(--arch "convnet:${a//,/-}" --pairs "$b" --channels "$c" --res "$d" --dim "$e" --epochs "$f")
    ref=(--arch "$a" --pairs "$b" --channels "$c" --res "$d" --dim "$e" --epochs "$f")
  else
    ours=(--train "$a" --test "$b" --features "$c" --epochs "$d"); ref=("${ours[@]}")
  fi
  [ "$what" = pretrain ] && ours+=(--matmul-size "$matmul")
  echo "compare-grid: $what $name: ssdd" >&2
  "$ssdd" bench "$what" "${ours[@]}" --threads "$threads" --json "$work/$what-$name.ssdd.json" >&2
  [ "$what" = pretrain ] && matmul=0  # the matrix-product rate: measured once, by the first cell
  echo "compare-grid: $what $name: PyTorch" >&2
  "$python" bench/pytorch_grid_cell.py "$what" "${ref[@]}" --threads "$threads" > "$work/$what-$name.ref.json"
  echo "compare-grid: $what $name: PyTorch, subnormals flushed" >&2
  "$python" bench/pytorch_grid_cell.py "$what" "${ref[@]}" --threads "$threads" --flush-denormals \
    > "$work/$what-$name.ref-flushed.json"
  echo "compare-grid: $what $name: PyTorch, subnormals flushed, OpenBLAS at one thread" >&2
  OPENBLAS_NUM_THREADS=1 "$python" bench/pytorch_grid_cell.py "$what" "${ref[@]}" --threads "$threads" \
    --flush-denormals > "$work/$what-$name.ref-blas1.json"
  echo "$what-$name" >> "$work/names"
done

table=$("$python" - "$work" <<'PY'
import json, sys
work = sys.argv[1]
names = open(f"{work}/names").read().split()
rate = max([json.load(open(f"{work}/{n}.ssdd.json")).get("matmul_gflops", 0) for n in names] + [0])
print("| cell | shape | ssdd s | PyTorch s, plain / subnormals flushed / flushed + OpenBLAS 1 thread | ssdd / fastest PyTorch | ssdd per step or epoch | PyTorch per step or epoch (fastest) | ssdd GFLOP/s (share of the matrix product's) | check (ssdd / fastest PyTorch) |")
print("|---|---|---|---|---|---|---|---|---|")
for name in names:
    s, plain = json.load(open(f"{work}/{name}.ssdd.json")), json.load(open(f"{work}/{name}.ref.json"))
    flushed = json.load(open(f"{work}/{name}.ref-flushed.json"))
    blas1 = json.load(open(f"{work}/{name}.ref-blas1.json"))
    r = min(plain, flushed, blas1, key=lambda ref: ref["seconds"])
    st = s["settings"]
    if name.startswith("pretrain"):
        shape = f'{st["arch"]}, {st["pairs"]} pairs of {st["size"]}x{st["size"]}x{st["channels"]}, d {st["dim"]}, {s["steps"]} steps'
        per = (f'{s["s_per_step"]:.4f} s/step', f'{r["s_per_step"]:.4f} s/step')
        check = f'loss {s["first_epoch_loss"]:.3f} -> {s["last_epoch_loss"]:.3f} / {r["first_epoch_loss"]:.3f} -> {r["last_epoch_loss"]:.3f}'
        gflops = s.get("gflop", 0) / s["seconds"]
        arith = f'{gflops:.1f} ({100 * gflops / rate:.0f}%)' if gflops and rate else "-"
    else:
        shape = f'{st["train"]} x {st["features"]} features, {st["epochs"]} epochs'
        per = (f'{s["s_per_epoch"]:.3f} s/epoch', f'{r["s_per_epoch"]:.3f} s/epoch')
        check = f'test top-1 {100 * s["test_accuracy"]:.1f}% / {100 * r["test_accuracy"]:.1f}%'
        arith = "memory-bound"
    print(f'| {name} | {shape} | {s["seconds"]:.2f} | {plain["seconds"]:.2f} / {flushed["seconds"]:.2f} / {blas1["seconds"]:.2f} | {s["seconds"] / r["seconds"]:.2f} | {per[0]} | {per[1]} | {arith} | {check} |')
print()
print(f"Measured fp32 matrix-product rate: {rate:.1f} GFLOP/s (ssdd, 4096 x 4096, before the first cell; "
      "the faster of LibTorch's BLAS and oneDNN's sgemm)." if rate else "")
PY
)
echo "$table"
if [ "$write" = 1 ]; then
  {
    echo "# The evaluation grid's cells against PyTorch"
    echo
    echo "Written by \`bench/compare-grid.sh --write --threads $threads\` on $(date -u +%Y-%m-%d), $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores,"
    echo "PyTorch $("$python" -c 'import torch; print(torch.__version__)'). Each figure is one timed run of the whole cell"
    echo "(network creation excluded); the last column shows both sides learn the same task."
    echo "The reference runs three times: as written, with torch.set_flush_denormal(True) (ssdd flushes"
    echo "subnormal floats to zero in all its threads: core/runtime.h), and flushed with OPENBLAS_NUM_THREADS=1"
    echo "(ssdd keeps OpenBLAS at one thread: docs/decisions.md); ratios are to the fastest of the three."
    echo "Target (issue 28): a pretraining cell and a probe at most 0.5x their references."
    echo "ssdd's GFLOP/s counts the direct convolution's multiply-adds; on AVX-512 CPUs the CIFAR-10 cell's"
    echo "blocks 2 and 3 run Winograd's F(4x4, 3x3) with about 2.25x fewer (models/winograd_conv.h), so"
    echo "its share of the matrix product's rate can pass 100%. The reference runs LibTorch's direct ones."
    echo
    echo "$table"
  } > docs/performance-grid.md
  echo "compare-grid: wrote docs/performance-grid.md" >&2
fi
