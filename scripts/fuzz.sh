#!/usr/bin/env bash
# Fuzzes every parser of outside input (fuzz/targets.def) with libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer, and prints a table: target, seconds, executions, corpus size,
# crashes. Builds the instrumented targets into build-fuzz/ with clang (Debian's clang and
# libclang-rt-dev: scripts/setup-fuzz.sh); seeds come from build/ssdd_fuzz_replay (the
# normal build, scripts/build.sh). Each crash is kept under runs/fuzz/artifacts/<target>/;
# copy it into fuzz/regressions/<target>/ once fixed, and the test suite replays it forever.
#   scripts/fuzz.sh [--seconds N] [--only TARGET] [--write]
#     --seconds N    per target (default 60; issue 11's report uses 600)
#     --only TARGET  one target
#     --write        also write the table into docs/reliability.md (between its fuzz markers)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60; only=""; write=0
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift ;;
    --only) only=$2; shift ;;
    --write) write=1 ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is missing (scripts/setup-fuzz.sh)" >&2; exit 1; }
[ -x build/fuzz/ssdd_fuzz_replay ] || { echo "fuzz.sh: build/fuzz/ssdd_fuzz_replay is missing (scripts/build.sh)" >&2; exit 1; }

targets=$(sed -n 's/^SSDD_FUZZ_TARGET(\([a-z_]*\))$/\1/p' fuzz/targets.def)
[ -n "$only" ] && { grep -qx "$only" <<<"$targets" || { echo "fuzz.sh: no target '$only' ($(echo $targets))" >&2; exit 2; }; targets=$only; }

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
rows=()
for t in $targets; do
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  log=$work/$t.log
  echo "fuzz: $t for ${seconds}s" >&2
  # -malloc_limit_mb: one allocation over 1 GiB is a crash (a header believed before it was
  # checked); -rss_limit_mb: the whole process over 3 GiB is one too.
  ./build-fuzz/fuzz/fuzz_$t "$work/corpus/$t" "$work/seeds/$t" "fuzz/regressions/$t" \
    -max_total_time="$seconds" -rss_limit_mb=3072 -malloc_limit_mb=1024 -timeout=30 \
    -artifact_prefix="$work/artifacts/$t/" -print_final_stats=1 >"$log" 2>&1 || true
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "$work/corpus/$t" -type f | wc -l)
  crashes=$(find "$work/artifacts/$t" -type f | wc -l)
  reports=$(grep -cE "ERROR: AddressSanitizer|runtime error:|ERROR: libFuzzer" "$log" || true)
  rows+=("| $t | $seconds | ${execs:-?} | $corpus | $crashes | $reports |")
done

table=$(printf '%s\n' "| target | seconds | executions | corpus | crash files | sanitizer/libFuzzer reports |" "|---|---|---|---|---|---|" "${rows[@]}")
echo "$table"
if [ "$write" = 1 ]; then
  doc=docs/reliability.md
  block=$(printf '%s\n' "<!-- fuzz:begin -->" "\`scripts/fuzz.sh --seconds $seconds\` on $(date -u +%Y-%m-%d), $(nproc) cores, $(clang++ --version | head -1):" "" "$table" "<!-- fuzz:end -->")
  python3 - "$doc" "$block" <<'PY'
import sys, re
path, block = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r"<!-- fuzz:begin -->.*?<!-- fuzz:end -->", lambda m: block, text, flags=re.S)
open(path, "w").write(text)
PY
  echo "fuzz: wrote the table into $doc" >&2
fi
