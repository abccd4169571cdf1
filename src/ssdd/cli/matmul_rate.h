// The machine's matrix-product rate for the bench commands that print it beside their timings.
#pragma once
#include <cstdint>

#include "ssdd/core/runtime.h"
#include "ssdd/core/runtime_options.h"
#include "ssdd/distill/step_bench.h"

namespace ssdd::cli {

// Measured first, on a cool machine: after minutes of convolutions a shared host's cores can
// read a third slower (seen: 139-145 GFLOP/s alone, 94 right after the fashion-mnist teacher
// step). With the run's thread count (the bench sets it again). 0 when `size` is 0.
inline double matrix_product_rate_first(const RuntimeOptions& runtime, int64_t size) {
  if (size <= 0) return 0;
  set_threads(runtime.threads);
  return distill::measure_matmul_gflops(runtime.device, size);
}

}  // namespace ssdd::cli
