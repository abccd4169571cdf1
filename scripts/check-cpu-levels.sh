#!/usr/bin/env bash
# The hand-vectorised kernels (models/block_tail_kernels.h, one_channel_block.cpp,
# measure/gathered_linear.cpp) are compiled three times, for AVX-512, AVX2 + FMA and baseline
# SSE2, and the loader runs the one the CPU supports: the suite on one machine tests one of the
# three. This script tests the other two: it builds the kernels' tests once per level with that
# level as the whole build's -march and the clones off (SSDD_NO_CPU_CLONES), checks the kernels'
# code uses no wider registers than the level has, and runs the tests. Not part of CI (two library
# builds: about 25 minutes on 2 cores).
#   scripts/check-cpu-levels.sh [LEVEL...]     LEVEL: x86-64-v3 (AVX2), x86-64 (SSE2), x86-64-v4
# Build folders: build-cpu-LEVEL/. A level the CPU cannot run is refused before building.
set -euo pipefail
cd "$(dirname "$0")/.."
levels=("$@"); [ ${#levels[@]} -gt 0 ] || levels=(x86-64-v3 x86-64)
tests='test_one_channel_block|test_norm_relu_pool|test_gathered_linear'
for level in "${levels[@]}"; do
  case $level in
    x86-64) wide='%[yz]mm' ;;      # SSE2: xmm only
    x86-64-v3) wide='%zmm' ;;      # AVX2: ymm at most
    x86-64-v4) wide='^$' ;;
    *) echo "check-cpu-levels: unknown level '$level' (x86-64, x86-64-v3 or x86-64-v4)" >&2; exit 2 ;;
  esac
  if ! echo 'int main(){}' | g++ -x c++ -march="$level" - -o /tmp/ssdd-level-probe 2>/dev/null \
     || [ "$(/tmp/ssdd-level-probe >/dev/null 2>&1; echo $?)" != 0 ]; then
    echo "check-cpu-levels: cannot build or run $level here" >&2; exit 1
  fi
  dir=build-cpu-$level
  echo "check-cpu-levels: $level: building the kernels' tests in $dir" >&2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON -DSSDD_BUILD_CLI=OFF \
    -DCMAKE_CXX_FLAGS="-march=$level -DSSDD_NO_CPU_CLONES" -DSSDD_TEST_FILTER="$tests" >/dev/null
  cmake --build "$dir" -j "${SSDD_BUILD_JOBS:-$(nproc)}" --target ssdd_tests
  # The kernels' own instructions (the functions named below that the compiler kept out of line;
  # the ones it inlined live in callers built at the same -march), not LibTorch's code around them.
  names='convolve_row|add_weight_gradients|add_row_gradients|moments_row|pool_row|gradient_sums_row|gradient_row'
  names="$names|scale_row|lane_dot|lane_dot_block|add_block_gradients"
  listing=$(objdump -d --no-show-raw-insn -C "$dir/ssdd_tests")
  kernels=$(grep -c -E "^[0-9a-f]+ <[^>]*($names)\(" <<<"$listing" || true)
  used=$(awk -v re="^[0-9a-f]+ <[^>]*($names)\\(" '$0 ~ re {on=1; next} /^[0-9a-f]+ </ {on=0} on' <<<"$listing" \
           | grep -c -E "$wide" || true)
  if [ "$kernels" -eq 0 ]; then echo "check-cpu-levels: $level: the kernels' symbols are not in the binary" >&2; exit 1; fi
  if [ "$wide" != '^$' ] && [ "$used" -gt 0 ]; then
    echo "check-cpu-levels: $level: the kernels use $used instruction(s) wider than the level ($wide)" >&2; exit 1
  fi
  echo "check-cpu-levels: $level: $kernels kernel symbol(s), none wider than the level; running the tests" >&2
  "$dir/ssdd_tests" --gtest_brief=1
  echo "check-cpu-levels: $level: passed"
done
