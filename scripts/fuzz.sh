#!/usr/bin/env bash
# Fuzzes every parser of outside input (fuzz/targets.def) with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer, and prints a table: target, seconds, executions, corpus size,
# crashes. Builds the instrumented targets into build-fuzz/ with clang (Debian's clang and
# libclang-rt-dev: scripts/setup-fuzz.sh); seeds come from build/ssdd_fuzz_replay (the
# normal build, scripts/build.sh). Each crash is kept under runs/fuzz/artifacts/<target>/;
# copy it into fuzz/regressions/<target>/ once fixed, and the test suite replays it forever.
# libFuzzer stops at the first crash, so the table's seconds are the time each target ran.
#   scripts/fuzz.sh [--seconds N] [--jobs J] [--only T1,T2,...] [--write]
#     --seconds N    per target (default 60; issue 11's report uses 600)
#     --jobs J       targets fuzzed at once, one core each (default: all cores)
#     --only LIST    these targets, comma-separated (e.g. again after a fix)
#     --write        also write the table into docs/reliability.md (between its fuzz markers):
#                    the latest run of every target, this one's or an earlier one's
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60; jobs=$(nproc); only=""; write=0
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift ;;
    --jobs) jobs=$2; shift ;;
    --only) only=$2; shift ;;
    --write) write=1 ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is missing (scripts/setup-fuzz.sh)" >&2; exit 1; }
[ -x build/fuzz/ssdd_fuzz_replay ] || { echo "fuzz.sh: build/fuzz/ssdd_fuzz_replay is missing (scripts/build.sh)" >&2; exit 1; }

targets=$(sed -n 's/^SSDD_FUZZ_TARGET(\([a-z_]*\))$/\1/p' fuzz/targets.def)
all_targets=$targets
if [ -n "$only" ]; then
  targets=$(tr ',' '\n' <<<"$only")
  for t in $targets; do
    grep -qx "$t" <<<"$all_targets" || { echo "fuzz.sh: no target '$t' ($(echo $all_targets))" >&2; exit 2; }
  done
fi

echo "fuzz: building the instrumented targets into build-fuzz/" >&2
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DSSDD_FUZZ=ON -DSSDD_BUILD_TESTS=OFF -DSSDD_BUILD_CLI=OFF >/dev/null
cmake --build build-fuzz -j "$(nproc)" $(for t in $targets; do echo "--target fuzz_$t"; done) >&2

work=runs/fuzz
rm -rf "$work/seeds" && build/fuzz/ssdd_fuzz_replay seeds "$work/seeds" >/dev/null
# LibTorch is not instrumented, and its registries live until exit by design: leak reports
# from it would drown ours, so leak detection is off; every other ASan and UBSan check is on.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1
# fuzz_one TARGET: fuzzes it and writes its table row to $work/TARGET.row.
fuzz_one() {
  local t=$1 log=$work/$1.log
  rm -rf "$work/artifacts/$t" && mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  echo "fuzz: $t for ${seconds}s" >&2
  local t0=$(date +%s)
  # -malloc_limit_mb: one allocation over 1 GiB is a crash (a header believed before it was
  # checked); -rss_limit_mb: the whole process over 3 GiB is one too.
  ./build-fuzz/fuzz/fuzz_$t "$work/corpus/$t" "$work/seeds/$t" "fuzz/regressions/$t" \
    -max_total_time="$seconds" -rss_limit_mb=3072 -malloc_limit_mb=1024 -timeout=30 \
    -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1 || true
  local ran=$(($(date +%s) - t0))
  local execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  local corpus=$(find "$work/corpus/$t" -type f | wc -l)
  local crashes=$(find "$work/artifacts/$t" -type f | wc -l)
  local reports=$(grep -cE "ERROR: AddressSanitizer|runtime error:|ERROR: libFuzzer" "$log" || true)
  echo "| $t | $(date -u +%Y-%m-%d) | $ran | ${execs:-?} | $corpus | $crashes | $reports |" > "$work/$t.row"
  echo "fuzz: $t done: $crashes crash file(s), $reports report(s) ($log)" >&2
}
for t in $targets; do
  rm -f "$work/$t.row"
  fuzz_one "$t" &
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
done
wait
# The table: the latest run of every target that has one (this run's targets among them).
rows=()
for t in $all_targets; do [ -f "$work/$t.row" ] && rows+=("$(cat "$work/$t.row")"); done
table=$(printf '%s\n' "| target | date | seconds | executions | corpus | crash files | sanitizer/libFuzzer reports |" \
  "|---|---|---|---|---|---|---|" "${rows[@]}")
echo "$table"
if [ "$write" = 1 ]; then
  { echo "The latest \`scripts/fuzz.sh\` run of each target ($(nproc) cores, one core a target, $(clang++ --version | head -1)):"
    echo; echo "$table"; } | scripts/doc-block.sh docs/reliability.md fuzz
  echo "fuzz: wrote the table into docs/reliability.md" >&2
fi
