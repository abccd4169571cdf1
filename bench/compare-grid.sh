#!/usr/bin/env bash
# The evaluation grid's two costs, ssdd beside a PyTorch version written as a careful user
# would (bench/pytorch_grid_cell.py), same shapes, same threads, same allocator settings, same
# machine, one run (issue 28): a pretraining cell (a fresh ConvNet + linear head regressing a
# set's targets by MSE, SGD, batch 256) and a linear probe (30 epochs of SGD on frozen features).
#   bench/compare-grid.sh [--threads N] [--only NAME] [--rounds K] [--write]
# --write puts the table into docs/performance-grid.md with the date and the machine. --rounds K
# (default 1) repeats every measurement K times, the rounds one after another, so a drift of the
# machine's speed reaches both sides alike: the table gives medians over rounds and the rounds'
# ratios' median and range. A second table times the pretraining cells in bf16 on both sides:
# ssdd's `--precision bfloat16` (autocast) against the reference's `--bf16` (subnormals flushed,
# OpenBLAS at one thread), and against the fastest fp32 reference.
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
threads=$(nproc); only=""; write=0; rounds=1
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift ;;
    --only) only=$2; shift ;;
    --write) write=1 ;;
    --rounds) rounds=$2; shift ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "compare-grid.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
source bench/rounds.sh
rounds_check "$rounds" compare-grid.sh
[ -x "$ssdd" ] || { echo "compare-grid.sh: $ssdd is not built (scripts/build.sh, or set SSDD_BIN)" >&2; exit 1; }
"$python" -c 'import torch' 2>/dev/null || { echo "compare-grid.sh: $python has no torch (run scripts/setup-bench.sh)" >&2; exit 1; }

cells=("pretrain fm-ours 64,64,64 1036 1 28 256 10" "pretrain fm-krrst 64,64,64 100 1 28 256 60"
       "pretrain cifar-ours 64,128,256 1420 3 32 128 5"
       "probe fm 60000 10000 576 30" "probe cifar 50000 10000 4096 30")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
matmul=4096
for round in $(seq "$rounds"); do
for cell in "${cells[@]}"; do
  read -r what name a b c d e f <<<"$cell"
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  if [ "$what" = pretrain ]; then
    ours=(--arch "convnet:${a//,/-}" --pairs "$b" --channels "$c" --res "$d" --dim "$e" --epochs "$f")
    ref=(--arch "$a" --pairs "$b" --channels "$c" --res "$d" --dim "$e" --epochs "$f")
  else
    ours=(--train "$a" --test "$b" --features "$c" --epochs "$d"); ref=("${ours[@]}")
  fi
  out="$work/$what-$name.r$round"
  echo "compare-grid: round $round of $rounds: $what $name: ssdd" >&2
  if [ "$what" = pretrain ]; then
    "$ssdd" bench pretrain "${ours[@]}" --matmul-size "$matmul" --threads "$threads" --json "$out.ssdd.json" >&2
    matmul=0  # the matrix-product rate: measured once, by the first cell
    echo "compare-grid: round $round of $rounds: $what $name: ssdd, bf16" >&2
    "$ssdd" bench pretrain "${ours[@]}" --precision bfloat16 --threads "$threads" --json "$out.ssdd-bf16.json" >&2
    echo "compare-grid: round $round of $rounds: $what $name: PyTorch, bf16, subnormals flushed, OpenBLAS at one thread" >&2
    OPENBLAS_NUM_THREADS=1 "$python" bench/pytorch_grid_cell.py pretrain "${ref[@]}" --threads "$threads" \
      --flush-denormals --bf16 > "$out.ref-bf16.json"
  else
    "$ssdd" bench "$what" "${ours[@]}" --threads "$threads" --json "$out.ssdd.json" >&2
  fi
  echo "compare-grid: round $round of $rounds: $what $name: PyTorch" >&2
  "$python" bench/pytorch_grid_cell.py "$what" "${ref[@]}" --threads "$threads" > "$out.ref.json"
  echo "compare-grid: round $round of $rounds: $what $name: PyTorch, subnormals flushed" >&2
  "$python" bench/pytorch_grid_cell.py "$what" "${ref[@]}" --threads "$threads" --flush-denormals \
    > "$out.ref-flushed.json"
  echo "compare-grid: round $round of $rounds: $what $name: PyTorch, subnormals flushed, OpenBLAS at one thread" >&2
  OPENBLAS_NUM_THREADS=1 "$python" bench/pytorch_grid_cell.py "$what" "${ref[@]}" --threads "$threads" \
    --flush-denormals > "$out.ref-blas1.json"
  [ "$round" = 1 ] && echo "$what-$name" >> "$work/names"
done
done

table=$("$python" - "$work" "$rounds" <<'PY'
import sys
work, rounds = sys.argv[1], int(sys.argv[2])
names = open(f"{work}/names").read().split()
sys.path.insert(0, "bench")
from rounds import med, ranged, runs as round_runs
def runs(name, kind):  # one JSON per round
    return round_runs(work, name, kind, rounds)
def fp32_references(name):  # each variant's runs by round, and each round's fastest run
    refs = [runs(name, kind) for kind in ("ref", "ref-flushed", "ref-blas1")]
    return refs, [min((ref[r] for ref in refs), key=lambda x: x["seconds"]) for r in range(rounds)]
rate = max([x.get("matmul_gflops", 0) for n in names for x in runs(n, "ssdd")] + [0])
print("| cell | shape | ssdd s | PyTorch s, plain / subnormals flushed / flushed + OpenBLAS 1 thread | ssdd / fastest PyTorch | ssdd per step or epoch | PyTorch per step or epoch (fastest) | ssdd GFLOP/s (share of the matrix product's) | check (ssdd / fastest PyTorch) |")
print("|---|---|---|---|---|---|---|---|---|")
for name in names:
    ssdd = runs(name, "ssdd")
    refs, fastest = fp32_references(name)
    ratios = [s["seconds"] / f["seconds"] for s, f in zip(ssdd, fastest)]
    ratio = ranged(ratios)
    seconds = med([s["seconds"] for s in ssdd])
    plain, flushed, blas1 = (med([x["seconds"] for x in ref]) for ref in refs)
    s, r, st = ssdd[0], fastest[0], ssdd[0]["settings"]
    if name.startswith("pretrain"):
        shape = f'{st["arch"]}, {st["pairs"]} pairs of {st["size"]}x{st["size"]}x{st["channels"]}, d {st["dim"]}, {s["steps"]} steps'
        per = (f'{med([x["s_per_step"] for x in ssdd]):.4f} s/step', f'{med([x["s_per_step"] for x in fastest]):.4f} s/step')
        check = f'loss {s["first_epoch_loss"]:.3f} -> {s["last_epoch_loss"]:.3f} / {r["first_epoch_loss"]:.3f} -> {r["last_epoch_loss"]:.3f}'
        gflops = s.get("gflop", 0) / seconds
        arith = f'{gflops:.1f} ({100 * gflops / rate:.0f}%)' if gflops and rate else "-"
    else:
        shape = f'{st["train"]} x {st["features"]} features, {st["epochs"]} epochs'
        per = (f'{med([x["s_per_epoch"] for x in ssdd]):.3f} s/epoch', f'{med([x["s_per_epoch"] for x in fastest]):.3f} s/epoch')
        check = f'test top-1 {100 * s["test_accuracy"]:.1f}% / {100 * r["test_accuracy"]:.1f}%'
        arith = "memory-bound"
    print(f'| {name} | {shape} | {seconds:.2f} | {plain:.2f} / {flushed:.2f} / {blas1:.2f} | {ratio} | {per[0]} | {per[1]} | {arith} | {check} |')
bf16 = [n for n in names if n.startswith("pretrain")]
if bf16:
    print()
    print("The pretraining cells in bf16 (autocast: convolutions and matrix products in bf16; weights, loss and "
          "update fp32), each side's own bf16 run, PyTorch's with subnormals flushed and OpenBLAS at one thread:")
    print()
    print("| cell | ssdd bf16 s | PyTorch bf16 s | ssdd bf16 / PyTorch bf16 | ssdd bf16 / fastest PyTorch fp32 | ssdd bf16 / ssdd fp32 | check: loss, ssdd bf16 / PyTorch bf16 |")
    print("|---|---|---|---|---|---|---|")
    def seconds(measurements):
        return [x["seconds"] for x in measurements]
    def ratio(a, b):
        return ranged([x / y for x, y in zip(a, b)])
    for name in bf16:
        ours, ref, ours32 = (seconds(runs(name, kind)) for kind in ("ssdd-bf16", "ref-bf16", "ssdd"))
        fastest = seconds(fp32_references(name)[1])
        s, r = runs(name, "ssdd-bf16")[0], runs(name, "ref-bf16")[0]
        # Four decimals: where bf16's rounding shows against the fp32 table's three.
        check = f'{s["first_epoch_loss"]:.4f} -> {s["last_epoch_loss"]:.4f} / {r["first_epoch_loss"]:.4f} -> {r["last_epoch_loss"]:.4f}'
        print(f'| {name} | {med(ours):.2f} | {med(ref):.2f} | {ratio(ours, ref)} | {ratio(ours, fastest)} | '
              f'{ratio(ours, ours32)} | {check} |')
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
    echo "Written by \`bench/compare-grid.sh --write --threads $threads --rounds $rounds\` on $(date -u +%Y-%m-%d), $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores,"
    echo "PyTorch $("$python" -c 'import torch; print(torch.__version__)'). Each figure is one timed run of the whole cell"
    echo "(network creation excluded); the last column shows both sides learn the same task."
    rounds_note "$rounds"
    echo "The reference runs three times: as written, with torch.set_flush_denormal(True) (ssdd flushes"
    echo "subnormal floats to zero in all its threads: core/runtime.h), and flushed with OPENBLAS_NUM_THREADS=1"
    echo "(ssdd keeps OpenBLAS at one thread: docs/decisions.md); ratios are to the fastest of the three."
    echo "Target (issue 28): a pretraining cell and a probe at most 0.5x their references."
    echo "ssdd's GFLOP/s counts the direct convolution's multiply-adds; on AVX-512 CPUs the CIFAR-10 cell's"
    echo "blocks 2 and 3 run Winograd's F(4x4, 3x3) with about 2.25x fewer (models/winograd_conv.h), so"
    echo "its share of the matrix product's rate can pass 100%. The reference runs LibTorch's direct ones."
    echo "The CPU $(grep -q avx512_bf16 /proc/cpuinfo && echo has || echo lacks) AVX512_BF16 (bf16 dot products in hardware)."
    echo
    echo "$table"
  } > docs/performance-grid.md
  echo "compare-grid: wrote docs/performance-grid.md" >&2
fi
