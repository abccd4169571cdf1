// `ssdd bench`: times the production outer step (outer_step.h) on synthetic tensors of
// the given shapes, the way ../shared/bench/pytorch_reference_step.py times its PyTorch
// version, and sets the time against the FLOP count (step_cost.h) and the machine's
// matrix-product rate measured in the same process.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/core/runtime_options.h"
#include "ssdd/distill/step_cost.h"

namespace ssdd::distill {

struct StepBenchOptions {
  StepShape shape;
  std::string norm = "batch";  // of the inner ConvNet: batch | instance | none
  double ridge = 1e-6;
  int64_t iterations = 10;     // timed, after the warm-up
  int64_t warmup = 3;
  bool phases = false;         // also time each phase (a device sync after each)
  int64_t matmul_size = 0;     // square size of the rate probe; 0: 4096 (CPU), 8192 (GPU)
  RuntimeOptions runtime;  // seed of the synthetic data and the model; threads; device
};

struct StepBenchResult {
  StepBenchOptions options;
  int threads = 0;                   // as set
  std::vector<double> seconds;       // per timed iteration
  double median_seconds = 0;
  StepFlops flops;
  double gflops_per_second = 0;      // flops.total() / median
  double matmul_gflops_per_second = 0;
  double peak_rss_mib = 0;           // of the whole process so far
  nlohmann::json phases;             // median seconds per phase (when asked for)

  double share_of_matmul() const { return gflops_per_second / matmul_gflops_per_second; }
  nlohmann::json to_json() const;
  static std::string markdown_header();
  std::string markdown_row() const;
};

StepBenchResult run_step_bench(const StepBenchOptions& options);

// FP32 matrix-product rate: the best of a few timed n x n products (GFLOP/s); on a CPU the faster
// of LibTorch's BLAS and oneDNN's sgemm where the build links oneDNN (models/onednn_sgemm.h).
double measure_matmul_gflops(const std::string& device, int64_t n);

}  // namespace ssdd::distill
