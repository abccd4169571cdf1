#include "ssdd/distill/step_bench.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <sstream>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "ssdd/core/bench_stats.h"
#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/core/runtime.h"
#include "ssdd/core/upload.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/model_pool.h"
#include "ssdd/distill/outer_step.h"
#include "ssdd/models/onednn_sgemm.h"

namespace ssdd::distill {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void synchronize(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
}

std::string widths_text(const std::vector<int64_t>& widths, const char* sep) {
  std::string s;
  for (size_t i = 0; i < widths.size(); ++i) s += (i ? sep : "") + std::to_string(widths[i]);
  return s;
}

void check(const StepBenchOptions& o) {
  const StepShape& s = o.shape;
  auto positive = [](int64_t v, const char* what) {
    if (v < 1) throw ConfigError(what, "must be at least 1, got " + std::to_string(v));
  };
  positive(s.distilled, "--m");
  positive(s.real, "--batch");
  positive(s.channels, "--channels");
  positive(s.height, "--res");
  positive(s.rep_dim, "--dim");
  positive(o.iterations, "--iters");
  if (s.views < 1 || s.views > 4) throw ConfigError("--rotations", "expected 1 to 4, got " + std::to_string(s.views));
  if (o.warmup < 0) throw ConfigError("--warmup", "must be >= 0");
  if (s.widths.empty()) throw ConfigError("--widths", "at least one block width is needed");
}

// The best of three trials of `product` (each repeated for at least 0.3 s, so the clock's
// resolution does not matter), in GFLOP/s of an n x n x n product.
double best_product_rate(const std::function<void()>& product, const c10::Device& device, int64_t n) {
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  product();  // warm-up: library initialisation, first-touch of the output
  synchronize(device);
  double best = 0;
  for (int trial = 0; trial < 3; ++trial) {
    int reps = 0;
    const auto start = Clock::now();
    double elapsed = 0;
    do {
      product();
      ++reps;
      synchronize(device);
      elapsed = seconds_since(start);
    } while (elapsed < 0.3);
    best = std::max(best, reps * flops / elapsed / 1e9);
  }
  return best;
}

}  // namespace

double measure_matmul_gflops(const std::string& device_name, int64_t n) {
  const c10::Device device = parse_device(device_name);
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  const at::Tensor a = torch::randn({n, n}, options), b = torch::randn({n, n}, options);
  at::Tensor c = torch::empty({n, n}, options);
  const double blas = best_product_rate([&] { torch::mm_out(c, a, b); }, device, n);
  if (!device.is_cpu() || !models::onednn_sgemm_available()) return blas;
  // LibTorch's BLAS may run AVX2 kernels on a CPU with AVX-512 (models/onednn_sgemm.h).
  return std::max(blas, best_product_rate([&] { models::onednn_sgemm(a, b, c); }, device, n));
}

StepBenchResult run_step_bench(const StepBenchOptions& options) {
  check(options);
  StepBenchResult result;
  result.options = options;
  result.threads = set_threads(options.runtime.threads);
  const c10::Device device = parse_device(options.runtime.device);
  seed_everything(options.runtime.seed);
  const StepShape& s = options.shape;
  const auto on_device = torch::TensorOptions().dtype(torch::kFloat).device(device);

  // The distilled set: m free images and targets (every view shares its image's target,
  // as in the reference), and the real data: a bank of 4n images with a target per view.
  const std::vector<data::View> all_views = data::parse_views("rot0,rot90,rot180,rot270");
  const std::vector<data::View> views(all_views.begin(), all_views.begin() + s.views);
  DistilledSet set = DistilledSet::explicit_form(
      torch::randn({s.distilled, s.channels, s.height, s.width}, on_device).requires_grad_(true),
      torch::randn({s.distilled, s.rep_dim}, on_device).requires_grad_(true), views);
  const int64_t bank = 4 * s.real;
  const at::Tensor bank_images = torch::randn({bank, s.channels, s.height, s.width}, on_device);
  const at::Tensor bank_targets = torch::randn({s.views, bank, s.rep_dim}, on_device);

  PoolOptions pool_options;
  pool_options.arch = "convnet:" + widths_text(s.widths, "-") + ":" + options.norm;
  pool_options.size = 1;
  pool_options.max_steps = options.warmup + 2 * options.iterations + 1;  // no re-initialisation while timed
  ModelPool pool(pool_options, {s.channels, s.height, s.width}, s.rep_dim, device, options.runtime.seed + 1);
  torch::optim::AdamW optimizer(set.parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(0.0));
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.runtime.seed);

  // One iteration as the distiller runs it; timed from the real batch's sampling to the
  // end of the inner step (a device sync there, only here, to read the clock).
  auto iterate = [&](int64_t it, StepPhases* phases) {
    const auto start = Clock::now();
    const at::Tensor index = upload(torch::randint(0, bank, {s.real}, gen, torch::kLong), device);
    RealBatch real;
    real.images = data::apply_views(bank_images.index_select(0, index), views);
    real.targets = bank_targets.index_select(1, index).reshape({s.views * s.real, s.rep_dim});
    OuterStepOptions step;
    step.ridge = options.ridge;
    step.iteration = it;
    step.phases = phases;
    outer_step(set, pool, real, optimizer, gen, step);
    synchronize(device);
    return seconds_since(start);
  };
  for (int64_t it = 0; it < options.warmup + options.iterations; ++it) {
    const double seconds = iterate(it, nullptr);
    if (it >= options.warmup) result.seconds.push_back(seconds);
  }
  // The phases in a pass of their own: their syncs would slow a GPU's timed pass.
  std::vector<StepPhases> per_iteration;
  for (int64_t it = 0; options.phases && it < options.iterations; ++it) {
    StepPhases phases;
    iterate(options.warmup + options.iterations + it, &phases);
    per_iteration.push_back(phases);
  }
  result.median_seconds = median(result.seconds);
  result.flops = step_flops(s);
  result.gflops_per_second = result.flops.total() / result.median_seconds / 1e9;
  if (options.phases) {
    auto phase_median = [&](double StepPhases::*phase) {
      std::vector<double> v;
      for (const auto& p : per_iteration) v.push_back(p.*phase);
      return median(v);
    };
    result.phases = {{"real_forward", phase_median(&StepPhases::real_forward)},
                     {"distilled_forward", phase_median(&StepPhases::distilled_forward)},
                     {"regression", phase_median(&StepPhases::regression)},
                     {"backward_update", phase_median(&StepPhases::backward_update)},
                     {"inner_step", phase_median(&StepPhases::inner_step)}};
  }
  const int64_t n = options.matmul_size > 0 ? options.matmul_size : (device.is_cuda() ? 8192 : 4096);
  result.matmul_gflops_per_second = measure_matmul_gflops(options.runtime.device, n);
  result.peak_rss_mib = peak_rss_mib();
  return result;
}

nlohmann::json StepBenchResult::to_json() const {
  const StepShape& s = options.shape;
  return {{"settings",
           {{"m", s.distilled}, {"batch", s.real}, {"rotations", s.views}, {"channels", s.channels},
            {"height", s.height}, {"width", s.width}, {"widths", s.widths}, {"norm", options.norm},
            {"dim", s.rep_dim}, {"ridge", options.ridge}, {"iterations", options.iterations},
            {"warmup", options.warmup}, {"threads", threads}, {"device", options.runtime.device}}},
          {"median_s_per_iter", median_seconds},
          {"min_s", *std::min_element(seconds.begin(), seconds.end())},
          {"seconds", seconds},
          {"gflop_per_iter",
           {{"total", flops.total() / 1e9},
            {"real_forward", flops.real_forward / 1e9},
            {"distilled_outer", flops.distilled_outer / 1e9},
            {"regression", flops.regression / 1e9},
            {"inner", flops.inner / 1e9}}},
          {"gflops", gflops_per_second},
          {"matmul_gflops", matmul_gflops_per_second},
          {"share_of_matmul", share_of_matmul()},
          {"peak_rss_mib", peak_rss_mib},
          {"phases_s", phases}};
}

std::string StepBenchResult::markdown_header() {
  return "| shape (m, n, res, widths, T, d) | threads | device | s/iter (median) | GFLOP/iter | GFLOP/s | "
         "matmul GFLOP/s | share | peak RSS MiB |\n"
         "|---|---|---|---|---|---|---|---|---|";
}

std::string StepBenchResult::markdown_row() const {
  const StepShape& s = options.shape;
  return fmt::format("| {}, {}, {}x{}x{}, {}, {}, {} | {} | {} | {:.4f} | {:.2f} | {:.1f} | {:.1f} | {:.0f}% | {:.0f} |",
                     s.distilled, s.real, s.height, s.width, s.channels, widths_text(s.widths, "-"), s.views,
                     s.rep_dim, threads, options.runtime.device, median_seconds, flops.total() / 1e9, gflops_per_second,
                     matmul_gflops_per_second, 100 * share_of_matmul(), peak_rss_mib);
}

}  // namespace ssdd::distill
