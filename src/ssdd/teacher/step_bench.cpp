#include "ssdd/teacher/step_bench.h"

#include <algorithm>
#include <array>
#include <iterator>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "ssdd/core/bench_stats.h"
#include "ssdd/core/error.h"
#include "ssdd/core/lap_clock.h"
#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/barlow_twins.h"
#include "ssdd/teacher/teacher_step.h"

namespace ssdd::teacher {
namespace {

constexpr size_t kPhaseCount = std::size(TeacherBenchResult::kPhaseNames);

// One training step as `ssdd teacher` takes it (teacher_step.h), timed by phase: augmentation,
// forward, loss, backward, update. Without `sync_each`, only the augmentation's and the last
// phase's ends are synchronised: the middle phases then read as launch times on a GPU.
struct Step {
  BarlowTwins& model;
  const std::vector<at::Tensor>& params;
  torch::optim::SGD& optimizer;
  const data::SslAugment& augment;
  const data::Normalization& norm;
  const TeacherConfig& config;

  std::array<double, kPhaseCount> run(const at::Tensor& batch, at::Generator& gen, const c10::Device& device,
                                       bool sync_each) {
    std::array<double, kPhaseCount> t{};
    LapClock clock(device);
    const auto [v1, v2] = teacher_views(batch, augment, gen);
    t[0] = clock.lap(true);
    optimizer.zero_grad();
    const auto [z1, z2] = teacher_embeddings(model, v1, v2, norm, config.precision);
    t[1] = clock.lap(sync_each);
    const auto loss = barlow_twins_loss(z1, z2, config.lambda, config.loss_scale);
    t[2] = clock.lap(sync_each);
    loss.backward();
    t[3] = clock.lap(sync_each);
    teacher_after_backward(params, config);
    optimizer.step();
    t[4] = clock.lap(true);
    return t;
  }
};

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
  Step step{model, params, *optimizer, augment, norm, config};
  for (int64_t i = 0; i < options.warmup + options.iterations; ++i) {
    const auto t = step.run(batch, gen, device, false);
    if (i < options.warmup) continue;
    result.augment_seconds.push_back(t[0]);
    result.step_seconds.push_back(t[1] + t[2] + t[3] + t[4]);
  }
  if (options.phases) {
    std::vector<std::vector<double>> per_phase(kPhaseCount);
    for (int64_t i = 0; i < options.iterations; ++i) {
      const auto t = step.run(batch, gen, device, true);
      for (size_t p = 0; p < t.size(); ++p) per_phase[p].push_back(t[p]);
    }
    result.phases = nlohmann::json::object();
    for (size_t p = 0; p < per_phase.size(); ++p)
      result.phases[TeacherBenchResult::kPhaseNames[p]] = median(per_phase[p]);
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
  nlohmann::json j = {{"settings",
           {{"arch", c.arch}, {"projector", c.projector}, {"optimizer", c.optimizer}, {"batch", c.batch_size},
            {"channels", options.channels}, {"size", options.size}, {"crop_scale_min", c.crop_scale_min},
            {"precision", c.precision},
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
  if (!phases.is_null()) j["phases"] = phases;
  return j;
}

}  // namespace ssdd::teacher
