#include "ssdd/teacher/step_bench.h"

#include <algorithm>
#include <chrono>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>
#include <torch/torch.h>

#include "ssdd/core/bench_stats.h"
#include "ssdd/core/error.h"
#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/teacher_step.h"

namespace ssdd::teacher {
namespace {

using Clock = std::chrono::steady_clock;

// The clock is read after the device has finished (CUDA runs asynchronously).
double seconds_since(Clock::time_point start, const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void check(const TeacherBenchOptions& o) {
  check_counts("bench teacher", {{"--batch", o.config.batch_size, 2},
                                 {"--res", o.size, 8},
                                 {"--iters", o.iterations, 1},
                                 {"--warmup", o.warmup, 0}});
  if (o.channels != 1 && o.channels != 3) throw ConfigError("--channels", "expected 1 or 3, got " + std::to_string(o.channels));
}

}  // namespace

double TeacherBenchResult::images_per_second(double seconds) const {
  return seconds > 0 ? static_cast<double>(options.config.batch_size) / seconds : 0.0;
}

TeacherBenchResult run_teacher_bench(const TeacherBenchOptions& options) {
  check(options);
  TeacherBenchResult result;
  result.options = options;
  result.threads = set_threads(options.runtime.threads);
  const c10::Device device = parse_device(options.runtime.device);
  const TeacherConfig& config = options.config;
  torch::manual_seed(options.runtime.seed);

  const models::ImageShape shape{options.channels, options.size, options.size};
  BarlowTwins model(models::make_encoder_from_spec(config.arch, shape), config.projector);
  model->to(device);
  model->train();
  const auto params = model->parameters();
  const auto optimizer = make_teacher_optimizer(params, config);
  data::SslAugmentOptions aug;
  aug.view1.scale_min = aug.view2.scale_min = config.crop_scale_min;
  const data::SslAugment augment(aug, options.channels);
  data::Normalization norm;
  norm.mean.assign(static_cast<size_t>(options.channels), 0.5f);
  norm.std.assign(static_cast<size_t>(options.channels), 0.25f);

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.runtime.seed);
  const auto batch_shape = std::vector<int64_t>{config.batch_size, options.channels, options.size, options.size};
  const at::Tensor batch = torch::randint(0, 256, batch_shape, gen, torch::kUInt8).to(device);
  for (int64_t i = 0; i < options.warmup + options.iterations; ++i) {
    const auto start = Clock::now();
    const auto [v1, v2] = teacher_views(batch, augment, gen);
    const double augment_seconds = seconds_since(start, device);
    const auto step_start = Clock::now();
    optimizer->zero_grad();
    teacher_views_loss(model, v1, v2, norm, config).backward();
    teacher_after_backward(params, config);
    optimizer->step();
    const double step_seconds = seconds_since(step_start, device);
    if (i < options.warmup) continue;
    result.augment_seconds.push_back(augment_seconds);
    result.step_seconds.push_back(step_seconds);
  }
  std::vector<double> totals(result.step_seconds.size());
  for (size_t i = 0; i < totals.size(); ++i) totals[i] = result.augment_seconds[i] + result.step_seconds[i];
  result.median_augment = median(result.augment_seconds);
  result.median_step = median(result.step_seconds);
  result.median_total = median(totals);
  result.peak_rss_mib = peak_rss_mib();
  return result;
}

nlohmann::json TeacherBenchResult::to_json() const {
  const TeacherConfig& c = options.config;
  return {{"settings",
           {{"arch", c.arch}, {"projector", c.projector}, {"optimizer", c.optimizer}, {"batch", c.batch_size},
            {"channels", options.channels}, {"size", options.size}, {"crop_scale_min", c.crop_scale_min},
            {"iterations", options.iterations}, {"warmup", options.warmup}, {"threads", threads},
            {"device", options.runtime.device}, {"seed", options.runtime.seed}}},
          {"median_s_per_step", median_step},
          {"median_s_augment", median_augment},
          {"median_s_per_step_with_augmentation", median_total},
          {"images_per_s", images_per_second(median_step)},
          {"images_per_s_with_augmentation", images_per_second(median_total)},
          {"step_seconds", step_seconds},
          {"augment_seconds", augment_seconds},
          {"peak_rss_mib", peak_rss_mib}};
}

}  // namespace ssdd::teacher
