#!/usr/bin/env bash
# A/B timing of ssdd builds for docs/performance-log.md: runs `ssdd bench` of each binary
# in turn, ROUNDS times (interleaved, so a slow minute of the machine hits every build
# alike), and prints each build's median of the rounds' medians with its phase breakdown.
#   bench/ab.sh [--rounds N] BIN_A BIN_B ... -- BENCH_ARGS...
# Example: copy build/ssdd aside before a change (cp build/ssdd /tmp/ssdd-before), rebuild,
#   bench/ab.sh /tmp/ssdd-before build/ssdd -- --widths 64,64,64 --m 100 --batch 256
set -euo pipefail
rounds=3
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
    --rounds) rounds=$2; shift ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0"; exit 0 ;;
    *) bins+=("$1") ;;
  esac
  shift
done
[ "${1:-}" = "--" ] && shift
[ ${#bins[@]} -gt 0 ] || { echo "ab.sh: name at least one ssdd binary (see --help)" >&2; exit 2; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for round in $(seq "$rounds"); do
  for i in "${!bins[@]}"; do
    "${bins[$i]}" bench "$@" --phases --matmul-size 256 --json "$work/$i.$round.json" >/dev/null
  done
done
python3 - "$work" "$rounds" "${bins[@]}" <<'PY'
import json, statistics, sys
work, rounds, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
phases = ["real_forward", "distilled_forward", "regression", "backward_update", "inner_step"]
print("| build | s/iter (median of %d runs) | GFLOP/s | " % rounds + " | ".join(phases) + " |")
print("|---|---|---|" + "---|" * len(phases))
for i, b in enumerate(bins):
    runs = [json.load(open(f"{work}/{i}.{r}.json")) for r in range(1, rounds + 1)]
    med = statistics.median(r["median_s_per_iter"] for r in runs)
    gf = runs[0]["gflop_per_iter"]["total"] / med
    ph = [statistics.median(r["phases_s"][p] for r in runs) for p in phases]
    print(f"| {b} | {med:.4f} | {gf:.1f} | " + " | ".join(f"{x:.4f}" for x in ph) + " |")
PY
