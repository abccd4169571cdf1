#!/usr/bin/env bash
# Runs the injected-fault tests (issue 11: tests/test_faults.cpp through the ssdd executable,
# and the singular-kernel tests of the KRR solve) and prints a table of fault, test, outcome
# and time. The disk faults mount a small tmpfs and skip without root; the CUDA test skips
# without a GPU. Needs the normal build (scripts/build.sh).
#   scripts/fault-table.sh [--write]
#     --write   also write the table into docs/reliability.md (between its faults markers)
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
case ${1:-} in
  --write) write=1 ;;
  "") ;;
  -h|--help) sed -n 2,7p "$0"; exit 0 ;;
  *) echo "fault-table: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac
[ -x build/ssdd_tests ] || { echo "fault-table: build/ssdd_tests is missing (scripts/build.sh)" >&2; exit 1; }
faults=(
  "NaN outer loss|FaultRun.NanLossStopsDistillationAndKeepsTheLastGoodCheckpoint"
  "exploding gradients|FaultRun.ExplodingGradientsStopDistillationWithTheirCause"
  "NaN training loss (teacher)|FaultRun.NanLossStopsTheTeacherAndKeepsItsLastEpoch"
  "full disk|FaultRun.AFullDiskIsOneClearErrorAndLeavesNoPartialFile"
  "read-only output folder|FaultRun.AReadOnlyOutputFolderIsOneClearError"
  "singular kernel (CPU)|Krr.SingularKernelIsANumericsError"
  "singular kernel (GPU)|Cuda.SingularKernelPoisonsThePredictionInsteadOfSyncing"
)
filter=$(printf '%s:' "${faults[@]#*|}")
json=$(mktemp)
trap 'rm -f "$json"' EXIT
build/ssdd_tests --gtest_filter="${filter%:}" --gtest_output="json:$json" >/dev/null 2>&1 || true
table=$(python3 - "$json" "${faults[@]}" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
results = {f"{s['name']}.{t['name']}": t for s in report["testsuites"] for t in s["testsuite"]}
print("| fault | test | outcome | seconds |")
print("|---|---|---|---|")
for entry in sys.argv[2:]:
    fault, test = entry.split("|")
    t = results.get(test)
    if t is None:
        outcome, seconds = "not run", ""
    else:
        if t.get("result") == "SKIPPED":
            outcome = "skipped (no GPU)" if test.startswith("Cuda") else "skipped (needs root)"
        else:
            outcome = "failed" if t.get("failures") else "passed"
        seconds = t.get("time", "").rstrip("s")
    print(f"| {fault} | `{test}` | {outcome} | {seconds} |")
PY
)
echo "$table"
if [ "$write" = 1 ]; then
  { echo "\`scripts/fault-table.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, as $( [ "$(id -u)" = 0 ] && echo root || echo "a user (the disk faults skip)"):"
    echo; echo "$table"; } | scripts/doc-block.sh docs/reliability.md faults
  echo "fault-table: wrote the table into docs/reliability.md" >&2
fi
! grep -q "| failed |" <<<"$table"
