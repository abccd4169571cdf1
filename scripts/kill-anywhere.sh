#!/usr/bin/env bash
# Kill anywhere (issue 11): runs each long stage once uninterrupted, then again while
# SIGKILLing it at seeded random moments and resuming it, and checks that the resumed run
# ends with the same numbers, bit for bit (CPU, same thread count). After every kill it also
# checks that no file under a final name is partial. The stages run on a 2,000-image subset
# of Fashion-MNIST, so the whole script takes minutes:
#   teacher (Barlow Twins), distill ours, distill krrst, the evaluation grid, ssdd run.
#   scripts/kill-anywhere.sh [--kills N] [--seed S] [--only teacher|run] [--work DIR] [--write]
#     --kills N   kills per stage (default 5: 25 in all)
#     --seed S    seed of the kill moments (default 1)
#     --only X    one stage that needs no other: the teacher, or `ssdd run` (the test suite's
#                 short version)
#     --work DIR  working folder (default runs/kill-anywhere; emptied first)
#     --write     also write the table into docs/reliability.md (between its kill markers)
# Exit status: 0 when every stage ended identical with no partial file seen, 1 otherwise,
# 77 when Fashion-MNIST is not installed (CTest's skip). Environment: SSDD_BIN (build/ssdd).
set -euo pipefail
cd "$(dirname "$0")/.."
ssdd=$(realpath "${SSDD_BIN:-build/ssdd}")
kills=5; seed=1; write=0; only=""; work=runs/kill-anywhere
while [ $# -gt 0 ]; do
  case $1 in
    --kills) kills=$2; shift ;;
    --seed) seed=$2; shift ;;
    --only) only=$2; shift ;;
    --work) work=$2; shift ;;
    --write) write=1 ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) echo "kill-anywhere: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$ssdd" ] || { echo "kill-anywhere: $ssdd is not built (scripts/build.sh)" >&2; exit 1; }
fmnist=/usr/share/datasets/fashion-mnist
[ -f "$fmnist/train-images-idx3-ubyte.gz" ] || { echo "kill-anywhere: Fashion-MNIST is missing (scripts/setup.sh)" >&2; exit 77; }
case $only in ""|teacher|run) ;; *) echo "kill-anywhere: --only takes teacher or run, not '$only'" >&2; exit 2 ;; esac
[ -n "$only" ] && [ "$write" = 1 ] && { echo "kill-anywhere: --write needs every stage (no --only)" >&2; exit 2; }

work=$(realpath -m "$work")
rm -rf "$work" && mkdir -p "$work"
data=$work/data
# The first 2,000 training and 500 test images, as an IDX folder (`--data mnist --data-dir`).
python3 - "$fmnist" "$data" <<'PY'
import gzip, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
for split, n in (("train", 2000), ("t10k", 500)):
    img = gzip.open(f"{src}/{split}-images-idx3-ubyte.gz").read()
    lab = gzip.open(f"{src}/{split}-labels-idx1-ubyte.gz").read()
    open(f"{dst}/{split}-images-idx3-ubyte", "wb").write(struct.pack(">IIII", 0x803, n, 28, 28) + img[16:16 + n * 784])
    open(f"{dst}/{split}-labels-idx1-ubyte", "wb").write(struct.pack(">II", 0x801, n) + lab[8:8 + n])
PY

common=(--threads 2)
teacher_args=(teacher --preset quick --data mnist --data-dir "$data" --epochs 4 --batch-size 128 --probe-epochs 2 "${common[@]}")
distill_args=(distill --preset quick --data-dir "$data" --budget 10 --iterations 60 --checkpoint-every 5
              --image-bases 16 --rep-bases 8 "${common[@]}")
evaluate_args=(evaluate --preset quick --data-dir "$data" --seeds 2 --pretrain-epochs 20 --probe-epochs 2 "${common[@]}")
cat > "$work/run.toml" <<EOF
name = "kill-anywhere"
preset = "quick"
data = "mnist"
data_dir = "$data"
budget = 10
seed = 0
[teacher]
cache = true
epochs = 2
[distill]
image_bases = 16
rep_bases = 8
iterations = 40
[distill.ours]
method = "ours"
[distill.krrst]
method = "krrst"
real_augment = "none"
[baselines]
methods = ["random"]
[evaluate]
seeds = 1
EOF

# The numbers a stage produced: tensor digests of its .pt outputs and its JSON results with
# wall times, rates and paths taken out.
numbers() {
  local dir=$1
  find "$dir" -name '*.pt' ! -path '*/checkpoints/*' ! -path '*/cache/*' | sort | while read -r f; do
    "$ssdd" info --digest "$f" | sed -E "s|^$dir/||"
  done | sort
  find "$dir" -name 'results.json' | sort | while read -r f; do
    python3 - "$f" <<'PY'
import json, sys
def clean(v):
    # Wall times, rates and the run folders' paths differ between two runs that computed the
    # same numbers; everything else, the grid's cell keys (hashes of the set files) included,
    # must not.
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items()
                if not any(w in k for w in ("second", "time", "rate", "per_min", "dir", "path", "written"))}
    if isinstance(v, list):
        return [clean(x) for x in v]
    if isinstance(v, str) and "/" in v:
        return v.split("/")[-1]
    return v
print(json.dumps(clean(json.load(open(sys.argv[1]))), sort_keys=True))
PY
  done
}

# Every file under a final name parses: .pt archives load, .json files parse, .png files end
# with their IEND chunk, .svg charts with </svg>. Temporaries (*.tmp.*) are allowed to be partial.
partial_files() {
  local dir=$1 bad=0
  while read -r f; do
    case $f in
      *.tmp.*) continue ;;
      *.pt) "$ssdd" info --digest "$f" >/dev/null 2>&1 || { echo "partial: $f" >&2; bad=$((bad + 1)); } ;;
      *.json) python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null || { echo "partial: $f" >&2; bad=$((bad + 1)); } ;;
      *.png) [ "$(tail -c 8 "$f" | od -An -tx1 | tr -d ' \n')" = "49454e44ae426082" ] || { echo "partial: $f" >&2; bad=$((bad + 1)); } ;;
      *.svg) [ "$(tail -c 7 "$f")" = "</svg>" ] || { echo "partial: $f" >&2; bad=$((bad + 1)); } ;;
    esac
  done < <(find "$dir" -type f)
  echo "$bad"
}

rows=()
stage_index=0
failed=0
# run_stage KEY NAME RESUME_FLAG COMMAND...: the reference run, then the killed-and-resumed
# one. Stages keep their index (and so their kill moments) whether or not --only skips others.
run_stage() {
  local key=$1 name=$2 resume_flag=$3
  shift 3
  stage_index=$((stage_index + 1))
  [ -z "$only" ] || [ "$only" = "$key" ] || return 0
  local ref=$work/$stage_index-reference cut=$work/$stage_index-killed
  echo "kill-anywhere: $name: reference run" >&2
  local t0=$(date +%s.%N)
  SSDD_CACHE=$ref/cache "$@" --out "$ref/out" >"$ref.log" 2>&1 || { echo "kill-anywhere: $name: reference run failed ($ref.log)" >&2; exit 1; }
  local seconds=$(python3 -c "print($(date +%s.%N) - $t0)")
  local done_kills=0 resumes=0 partial=0 extra=()
  while :; do
    SSDD_CACHE=$cut/cache "$@" --out "$cut/out" "${extra[@]}" >>"$cut.log" 2>&1 &
    local pid=$!
    if ((done_kills < kills)); then
      # Uniform over a span that leaves room for every kill: a resumed run has less left to do.
      local delay=$(python3 -c "import random; r = random.Random($seed * 1000 + $stage_index * 100 + $done_kills); print(round(r.uniform(0.3, max(0.6, 1.5 * $seconds / ($kills + 1))), 2))")
      sleep "$delay"
      if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" && wait "$pid" 2>/dev/null || true
        done_kills=$((done_kills + 1))
        partial=$((partial + $(partial_files "$cut/out")))
        [ -n "$resume_flag" ] && extra=("$resume_flag")
        resumes=$((resumes + 1))
        echo "kill-anywhere: $name: kill $done_kills after ${delay}s, resuming" >&2
        continue
      fi
    fi
    wait "$pid" || { echo "kill-anywhere: $name: the resumed run failed ($cut.log)" >&2; exit 1; }
    break
  done
  local same=no
  if [ -n "$(numbers "$ref/out")" ] && diff <(numbers "$ref/out") <(numbers "$cut/out") >"$work/$stage_index.diff"; then same=yes; fi
  rows+=("| $name | $(printf '%.0f' "$seconds") | $done_kills | $resumes | $partial | $same |")
  [ "$same" = yes ] && [ "$partial" = 0 ] || failed=1
  echo "kill-anywhere: $name: $done_kills kills, identical: $same" >&2
}

all=""; [ -z "$only" ] && all=all
run_stage teacher "teacher" --resume "$ssdd" "${teacher_args[@]}"
teacher=$work/1-reference/out
run_stage "$all" "distill ours" --resume "$ssdd" "${distill_args[@]}" --method ours --teacher "$teacher"
run_stage "$all" "distill krrst" --resume "$ssdd" "${distill_args[@]}" --method krrst --teacher "$teacher"
run_stage "$all" "evaluation grid" "" "$ssdd" "${evaluate_args[@]}" --teacher "$teacher" \
  --distilled "ours=$work/2-reference/out/distilled.pt,krrst=$work/3-reference/out/distilled.pt"
run_stage run "ssdd run" "" "$ssdd" run "$work/run.toml"

table=$(printf '%s\n' "| stage | uninterrupted s | kills | resumes | partial files seen | outputs identical |" "|---|---|---|---|---|---|" "${rows[@]}")
echo "$table"
if [ "$write" = 1 ]; then
  { echo "\`scripts/kill-anywhere.sh --kills $kills --seed $seed\` on $(date -u +%Y-%m-%d), $(nproc) cores, 2 threads:"
    echo; echo "$table"; } | scripts/doc-block.sh docs/reliability.md kill
  echo "kill-anywhere: wrote the table into docs/reliability.md" >&2
fi
exit "$failed"
