#!/usr/bin/env bash
# The GPU checks, as one script for a lent GPU machine (the `device` tool): build ssdd
# against PyTorch's CUDA LibTorch with the libraries of .devkit/ (scripts/device-kit.sh,
# run here first, then carried), run the CUDA tests, time the distillation step beside the
# PyTorch reference (bench/compare.sh --device cuda), run the quick experiment on the GPU,
# and run the whole test suite against this LibTorch. Each step is cut to what is left of
# the time budget, so a slow step cannot eat the later ones' output.
#   scripts/device-check.sh [SECONDS]    # budget, default 540; results under $OUT (or out/)
# SSDD_SKIP_COMPARE=1 leaves out the timing comparison (about a minute).
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-540}
start=$(date +%s)
out=${OUT:-out}
mkdir -p "$out"
log=$out/device.log
exec > >(tee -a "$log") 2>&1
exec 3>&1  # step headers go here, past the steps' own redirections
left() { echo $((budget - ($(date +%s) - start))); }
step() {  # step NAME CAP COMMAND...: runs COMMAND for at most min(CAP, time left) seconds
  local name=$1 cap=$2
  shift 2
  local t
  t=$(left)
  ((t > cap)) && t=$cap
  if ((t < 10)); then echo "== $name: skipped, no time left" >&3; return 1; fi
  echo "== $name (at most ${t}s, $(left)s left)" >&3
  local s=$(date +%s)
  timeout "$t" "$@"
  local rc=$?
  echo "== $name: exit $rc after $(($(date +%s) - s))s" >&3
  return $rc
}

[ -d .devkit ] || { echo "device-check: .devkit/ is missing (run scripts/device-kit.sh here and carry it)"; exit 1; }
export PATH=/usr/local/cuda/bin:$PATH
echo "== machine: $(nproc) cores; $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader)"
python3 -c 'import torch;print("== torch", torch.__version__, "cuda", torch.version.cuda)'
echo "== $(g++ --version | head -1); $(cmake --version | head -1); $(nvcc --version | tail -1)"

torch_prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
step configure 120 cmake -S . -B build-cuda -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$PWD/.devkit" -DTORCH_CUDA_ARCH_LIST=9.0 >"$out/build.log" 2>&1 ||
  { tail -40 "$out/build.log"; exit 1; }
grep -E "ssdd:|CUDA" "$out/build.log" | head -5
step build 360 cmake --build build-cuda -j "$(nproc)" >>"$out/build.log" 2>&1 ||
  { grep -E "error|Error" "$out/build.log" | head -30; tail -20 "$out/build.log"; exit 1; }

# PyTorch's wheels export std::filesystem copies that crash a program bound to them
# (pytorch#133437; CMakeLists.txt names libstdc++ first against it). A test that uses
# std::filesystem is the canary: if it crashes, say so and go on with libstdc++ preloaded,
# so that the checks below still report.
echo "== libtorch exports $(nm -D "$torch_prefix/../../lib/libtorch.so" 2>/dev/null | grep -c ' [TW] _ZNSt10filesystem') std::filesystem symbols; ssdd_tests imports $(nm -D --undefined-only build-cuda/ssdd_tests | grep -c _ZNSt10filesystem)"
echo "== link line: $(ninja -C build-cuda -t commands ssdd_tests | tail -1 | cut -c1-400)"
if ! build-cuda/ssdd_tests --gtest_filter='AtomicFile.*' >/dev/null 2>&1; then
  echo "== WARNING: the std::filesystem canary crashed; the checks below run with libstdc++ preloaded"
  export LD_PRELOAD=$(g++ -print-file-name=libstdc++.so.6)
fi

step cuda-tests 150 build-cuda/ssdd_tests --gtest_filter='Cuda*:SslAugment.Cuda*' >"$out/cuda-tests.log" 2>&1
grep -E "^\[ +(OK|FAILED|SKIPPED|PASSED) +\]|Failure|Expected|Which is|actual" "$out/cuda-tests.log" | head -40

[ "${SSDD_SKIP_COMPARE:-0}" = 1 ] || step compare 180 env SSDD_BIN=build-cuda/ssdd SSDD_REFERENCE_STEP=.devkit/pytorch_reference_step.py PYTHON=python3 \
  bash bench/compare.sh --device cuda --threads "$(nproc)" >"$out/compare-cuda.md"
cat "$out/compare-cuda.md"

# The quick experiment end to end on the GPU, with the kit's Fashion-MNIST at Debian's path.
mkdir -p /usr/share/datasets && ln -sfn "$PWD/.devkit/data/fashion-mnist" /usr/share/datasets/fashion-mnist
step quick-run 150 env SSDD_CACHE=/tmp/ssdd-cache build-cuda/ssdd run quick --device cuda --threads "$(nproc)" \
  --out /tmp/quick-cuda >"$out/quick-run.log" 2>&1
tail -5 "$out/quick-run.log"
cp /tmp/quick-cuda/report.md "$out/quick-report.md" 2>/dev/null
cp /tmp/quick-cuda/run.json "$out/quick-run.json" 2>/dev/null

# Several processes on the GPU (issue 26): 2 ranks with NCCL where there are 2 GPUs, otherwise
# Gloo on CUDA tensors with both ranks on cuda:0; every collective checked, then the quick
# teacher's epoch on 2 ranks against one process (epoch losses side by side).
if (($(nvidia-smi -L | wc -l) >= 2)); then ranks_on=(--device cuda --backend nccl); else ranks_on=(--device cuda:0 --backend gloo); fi
step collectives 60 build-cuda/ssdd launch -n 2 -- collectives "${ranks_on[@]}" >"$out/collectives.log" 2>&1
tail -3 "$out/collectives.log"
quick_teacher=(teacher --preset quick --data fashion-mnist --epochs 1 --probe-epochs 1)
step teacher-1-process 90 env SSDD_CACHE=/tmp/ssdd-cache build-cuda/ssdd "${quick_teacher[@]}" --device cuda:0 \
  --out /tmp/teacher-1 >"$out/teacher-ranks.log" 2>&1
step teacher-2-ranks 90 env SSDD_CACHE=/tmp/ssdd-cache build-cuda/ssdd launch -n 2 -- "${quick_teacher[@]}" \
  "${ranks_on[@]}" --out /tmp/teacher-2 >>"$out/teacher-ranks.log" 2>&1
python3 -c 'import json,sys; print("== teacher epoch loss, 1 process / 2 ranks:", *(json.load(open(d + "/metrics.json"))["epoch_loss"] for d in sys.argv[1:]))' \
  /tmp/teacher-1 /tmp/teacher-2 || tail -5 "$out/teacher-ranks.log"

# Everything else, on this LibTorch (CPU tests; those needing ../shared or chromium skip).
step ctest 240 ctest --test-dir build-cuda -j 8 -E 'Cuda' --timeout 200 --output-on-failure >"$out/ctest.log" 2>&1
grep -E "tests passed|tests failed|\*\*\*Failed|\*\*\*Timeout|\*\*\*Exception|Not Run" "$out/ctest.log" | head -30
# A crash left: its backtrace (cuda-gdb also debugs host-only programs; there is no gdb).
crashed=$(grep -m1 -oE '[A-Za-z0-9_]+\.[A-Za-z0-9_]+ \.+\*\*\*Exception' "$out/ctest.log" | cut -d' ' -f1)
[ -n "$crashed" ] && step backtrace 60 cuda-gdb -batch -ex run -ex bt --args build-cuda/ssdd_tests --gtest_filter="$crashed" 2>&1 | grep -E "^#|signal" | head -25
echo "== done in $(($(date +%s) - start))s"
