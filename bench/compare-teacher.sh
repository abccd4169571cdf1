#!/usr/bin/env bash
# ssdd's teacher training step beside the PyTorch yardstick, same shapes, same threads, same
# allocator settings, same machine, one run (issue 28). For each shape it runs `ssdd bench
# teacher` (the production step: two augmented views, forward, Barlow Twins loss, backward,
# LARS, SGD) and ../shared/bench/pytorch_teacher_step.py (a plain PyTorch step, views
# pre-made, plain SGD: a lower bound on a PyTorch user's time), the latter as written, channels-last,
# and channels-last with OPENBLAS_NUM_THREADS=1, and prints a markdown table. The ratio is against
# the fastest reference. A second table sets the bf16 steps side by side: ssdd's `--precision
# bfloat16` (autocast) against bench/pytorch_teacher_step_bf16.py (the yardstick under PyTorch's
# bf16 autocast, channels-last, OpenBLAS at one thread), and against the fp32 reference. A third
# splits ssdd's steps into their phases (`--phases`).
#   bench/compare-teacher.sh [--threads N] [--iters N] [--only NAME] [--rounds K] [--write]
# --write puts the table into docs/performance-teacher.md with the date and the machine. --rounds K
# (default 1) repeats every measurement K times, the rounds one after another, so a drift of the
# machine's speed reaches both sides alike: the table gives medians over rounds and the rounds'
# ratios' median and range.
# Shapes (batch 256, projector 1024-1024-1024):
#   fashion-mnist  28x28x1, resnet18:32  (the cpu preset's teacher)
#   cifar10        32x32x3, resnet18:16  (configs/cifar10-cpu.toml's teacher)
# Environment: SSDD_BIN (default build/ssdd), SSDD_REFERENCE_TEACHER (default
# ../shared/bench/pytorch_teacher_step.py), PYTHON (default /usr/bin/python3).
set -euo pipefail
cd "$(dirname "$0")/.."
ssdd=${SSDD_BIN:-build/ssdd}
reference=${SSDD_REFERENCE_TEACHER:-../shared/bench/pytorch_teacher_step.py}
python=${PYTHON:-/usr/bin/python3}
threads=$(nproc); iters=8; only=""; write=0; rounds=1
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift ;;
    --iters) iters=$2; shift ;;
    --only) only=$2; shift ;;
    --write) write=1 ;;
    --rounds) rounds=$2; shift ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) echo "compare-teacher.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
source bench/rounds.sh
rounds_check "$rounds" compare-teacher.sh
[ -x "$ssdd" ] || { echo "compare-teacher.sh: $ssdd is not built (scripts/build.sh, or set SSDD_BIN)" >&2; exit 1; }
[ -f "$reference" ] || { echo "compare-teacher.sh: the reference $reference is absent (set SSDD_REFERENCE_TEACHER)" >&2; exit 1; }
"$python" -c 'import torch' 2>/dev/null || { echo "compare-teacher.sh: $python has no torch (run scripts/setup-bench.sh)" >&2; exit 1; }

shapes=("fashion-mnist 28 1 32" "cifar10 32 3 16")
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
matmul=4096
for round in $(seq "$rounds"); do
for shape in "${shapes[@]}"; do
  read -r name res ch width <<<"$shape"
  [ -n "$only" ] && [ "$only" != "$name" ] && continue
  out="$work/$name.r$round"
  for precision in float32 bfloat16; do
    kind=ssdd; [ "$precision" = bfloat16 ] && kind=ssdd-bf16
    echo "compare-teacher: round $round of $rounds: $name: ssdd bench teacher --precision $precision" >&2
    "$ssdd" bench teacher --preset cpu --arch "resnet18:$width" --projector 1024,1024,1024 --batch 256 \
      --res "$res" --channels "$ch" --iters "$iters" --warmup 2 --phases --threads "$threads" --matmul-size "$matmul" \
      --precision "$precision" --json "$out.$kind.json" >&2
    matmul=0  # measured once
  done
  echo "compare-teacher: round $round of $rounds: $name: PyTorch reference (bf16 autocast)" >&2
  SSDD_REFERENCE_TEACHER="$reference" OPENBLAS_NUM_THREADS=1 "$python" bench/pytorch_teacher_step_bf16.py \
    --width "$width" --channels "$ch" --size "$res" --batch 256 --projector 1024,1024,1024 --threads "$threads" \
    --steps "$iters" --channels-last > "$out.ref-bf16.json"
  for layout in plain channels-last blas1; do  # blas1: channels-last with OpenBLAS at one thread, as ssdd keeps it
    echo "compare-teacher: round $round of $rounds: $name: PyTorch reference ($layout)" >&2
    flag=(); [ "$layout" != plain ] && flag=(--channels-last)
    blas=(); [ "$layout" = blas1 ] && blas=(OPENBLAS_NUM_THREADS=1)
    env "${blas[@]}" "$python" "$reference" --width "$width" --channels "$ch" --size "$res" \
      --batch 256 --projector 1024,1024,1024 --threads "$threads" --steps "$iters" "${flag[@]}" \
      > "$out.ref-$layout.json"
  done
  [ "$round" = 1 ] && echo "$name" >> "$work/names"
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
def fp32_references(name):  # each layout's step seconds by round, and each round's fastest
    refs = [[x["median_s_per_step"] for x in runs(name, f"ref-{layout}")] for layout in ("plain", "channels-last", "blas1")]
    return refs, [min(ref[r] for ref in refs) for r in range(rounds)]
rate = max([x.get("matmul_gflops", 0) for n in names for x in runs(n, "ssdd")] + [0])
print("| shape | ssdd step s | ssdd augmentation s | ssdd step + augmentation s (images/s) | PyTorch step s, plain / channels-last / channels-last + OpenBLAS 1 thread (images/s of the fastest) | ssdd step / PyTorch | ssdd with augmentation / PyTorch | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|")
for name in names:
    ssdd = runs(name, "ssdd")
    refs, fastest = fp32_references(name)
    step = [x["median_s_per_step"] for x in ssdd]
    with_aug = [x["median_s_per_step_with_augmentation"] for x in ssdd]
    st = ssdd[0]["settings"]
    plain, last, blas1 = (med(ref) for ref in refs)
    shape = f'{name}: {st["arch"]}, {st["size"]}x{st["size"]}x{st["channels"]}, batch {st["batch"]}'
    print(f'| {shape} | {med(step):.3f} | {med([x["median_s_augment"] for x in ssdd]):.3f} | '
          f'{med(with_aug):.3f} ({st["batch"] / med(with_aug):.0f}) | '
          f'{plain:.3f} / {last:.3f} / {blas1:.3f} ({st["batch"] / med(fastest):.0f}) | '
          f'{ranged([a / b for a, b in zip(step, fastest)])} | {ranged([a / b for a, b in zip(with_aug, fastest)])} | '
          f'{max(x["peak_rss_mib"] for x in ssdd):.0f} |')
torch = runs(names[0], "ref-plain")[0]["torch"]
print()
print(f"Threads {runs(names[0], 'ssdd')[0]['settings']['threads']}; "
      f"measured fp32 matrix-product rate {rate:.1f} GFLOP/s (ssdd, 4096x4096, the faster of LibTorch's BLAS and "
      f"oneDNN's sgemm); PyTorch {torch}; "
      "target (issue 28): ssdd's step with augmentation <= 0.7x the reference's step without.")
print()
print("In bf16 (autocast: convolutions and matrix products in bf16, weights, loss and update fp32), each side's "
      "own; the last column against the fp32 reference above (its fastest layout), as the target reads:")
print()
print("| shape | ssdd bf16 step s | ssdd bf16 step + augmentation s (images/s) | PyTorch bf16 step s, channels-last + OpenBLAS 1 thread (images/s) | ssdd bf16 step / PyTorch bf16 | ssdd bf16 with augmentation / PyTorch fp32 |")
print("|---|---|---|---|---|---|")
for name in names:
    ssdd, ref = runs(name, "ssdd-bf16"), runs(name, "ref-bf16")
    fastest32 = fp32_references(name)[1]
    step = [x["median_s_per_step"] for x in ssdd]
    with_aug = [x["median_s_per_step_with_augmentation"] for x in ssdd]
    ref_step = [x["median_s_per_step"] for x in ref]
    batch = ssdd[0]["settings"]["batch"]
    print(f'| {name} | {med(step):.3f} | {med(with_aug):.3f} ({batch / med(with_aug):.0f}) | '
          f'{med(ref_step):.3f} ({batch / med(ref_step):.0f}) | {ranged([a / b for a, b in zip(step, ref_step)])} | '
          f'{ranged([a / b for a, b in zip(with_aug, fastest32)])} |')
print()
print("Where ssdd's time goes (median seconds per phase over rounds, a second pass of the same run; share of their sum):")
print()
phases = ["augmentation", "forward", "loss", "backward", "update"]
print("| shape | " + " | ".join(phases) + " |")
print("|---|" + "---|" * len(phases))
for name in names:
    for kind, label in (("ssdd", name), ("ssdd-bf16", name + ", bf16")):
        p = {k: med([x["phases"][k] for x in runs(name, kind)]) for k in phases}
        total = sum(p.values())
        print(f"| {label} | " + " | ".join(f"{p[k]:.3f} ({100 * p[k] / total:.0f}%)" for k in phases) + " |")
PY
)
echo "$table"
if [ "$write" = 1 ]; then
  {
    echo "# The teacher step against PyTorch"
    echo
    echo "Written by \`bench/compare-teacher.sh --write --threads $threads --rounds $rounds\` on $(date -u +%Y-%m-%d), $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores."
    echo "Medians of $iters timed steps after 2 untimed ones, both sides with ssdd's allocator settings."
    echo "The CPU $(grep -q avx512_bf16 /proc/cpuinfo && echo has || echo lacks) AVX512_BF16 (bf16 dot products in hardware)."
    rounds_note "$rounds"
    echo
    echo "$table"
  } > docs/performance-teacher.md
  echo "compare-teacher: wrote docs/performance-teacher.md" >&2
fi
