#include "ssdd/evaluate/cell_bench.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/distill/step_cost.h"
#include "ssdd/evaluate/pretrain.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/models/zoo.h"

namespace ssdd::evaluate {

namespace {

double pretraining_gflop(const PretrainBenchOptions& o, int64_t pairs_seen) {
  const auto spec = models::parse_arch_spec(o.arch);
  if (spec.arch != "convnet") return 0;
  distill::StepShape shape;
  shape.channels = o.channels;
  shape.height = shape.width = o.size;
  shape.widths = spec.options.widths;  // parse_arch_spec spelled out the default
  const auto features = models::make_encoder(spec, {o.channels, o.size, o.size})->feature_dim();
  const double per_pair = 3 * distill::convnet_forward_flops(shape) + 6.0 * static_cast<double>(features * o.dim);
  return per_pair * static_cast<double>(pairs_seen) / 1e9;
}

}  // namespace

PretrainBenchResult run_pretrain_bench(const PretrainBenchOptions& options) {
  check_counts("bench pretrain", {{"--pairs", options.pairs, 1},
                                   {"--res", options.size, 1},
                                   {"--dim", options.dim, 1},
                                   {"--epochs", options.epochs, 1},
                                   {"--batch", options.batch, 1}});
  PretrainBenchResult result;
  result.options = options;
  result.threads = set_threads(options.runtime.threads);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.runtime.seed);
  const at::Tensor images = torch::randn({options.pairs, options.channels, options.size, options.size}, gen);
  const at::Tensor targets = torch::randn({options.pairs, options.dim}, gen);

  PretrainOptions p;
  p.arch = options.arch;
  p.schedule.epochs = options.epochs;
  p.schedule.batch_size = options.batch;
  p.schedule.precision = options.precision;
  p.seed = options.runtime.seed;
  p.device = parse_device(options.runtime.device);
  const Pretrained trained = pretrain(images, targets, p);
  result.steps = trained.steps;
  result.seconds = trained.seconds;
  result.seconds_per_step = trained.seconds / static_cast<double>(result.steps);
  result.first_loss = trained.loss.front();
  result.final_loss = trained.loss.back();
  result.gflop = pretraining_gflop(options, options.epochs * options.pairs);
  return result;
}

nlohmann::json PretrainBenchResult::to_json() const {
  const auto& o = options;
  return {{"settings",
           {{"arch", o.arch}, {"pairs", o.pairs}, {"channels", o.channels}, {"size", o.size}, {"dim", o.dim},
            {"epochs", o.epochs}, {"batch", o.batch}, {"precision", o.precision},
            {"threads", threads}, {"device", o.runtime.device},
            {"seed", o.runtime.seed}}},
          {"steps", steps},
          {"seconds", seconds},
          {"s_per_step", seconds_per_step},
          {"first_epoch_loss", first_loss},
          {"last_epoch_loss", final_loss},
          {"gflop", gflop}};
}

ProbeBenchResult run_probe_bench(const ProbeBenchOptions& options) {
  check_counts("bench probe", {{"--train", options.train, 2},
                                {"--test", options.test, 1},
                                {"--features", options.features, 1},
                                {"--classes", options.classes, 2},
                                {"--epochs", options.epochs, 1},
                                {"--batch", options.batch, 1}});
  ProbeBenchResult result;
  result.options = options;
  result.threads = set_threads(options.runtime.threads);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(options.runtime.seed);
  // Non-negative features of uneven scale, like a ReLU network's, and labels a linear
  // classifier can learn: the argmax of a fixed random map.
  const int64_t n = options.train + options.test;
  const at::Tensor scale = torch::rand({1, options.features}, gen) * 3;
  const at::Tensor features = torch::relu(torch::randn({n, options.features}, gen)) * scale;
  const at::Tensor labels = features.matmul(torch::randn({options.features, options.classes}, gen)).argmax(1);

  measure::ProbeOptions p;
  p.epochs = options.epochs;
  p.batch_size = options.batch;
  p.standardize = options.standardize;
  p.seed = options.runtime.seed;
  p.device = parse_device(options.runtime.device);
  const auto train = torch::indexing::Slice(0, options.train);
  const auto test = torch::indexing::Slice(options.train, n);
  const measure::ProbeResult r = measure::linear_probe(features.index({train}), labels.index({train}),
                                                       features.index({test}), labels.index({test}),
                                                       options.classes, p);
  result.seconds = r.seconds;
  result.seconds_per_epoch = r.seconds / static_cast<double>(options.epochs);
  result.test_accuracy = r.test_accuracy;
  return result;
}

nlohmann::json ProbeBenchResult::to_json() const {
  const auto& o = options;
  return {{"settings",
           {{"train", o.train}, {"test", o.test}, {"features", o.features}, {"classes", o.classes},
            {"epochs", o.epochs}, {"batch", o.batch}, {"standardize", o.standardize}, {"threads", threads},
            {"device", o.runtime.device}, {"seed", o.runtime.seed}}},
          {"seconds", seconds},
          {"s_per_epoch", seconds_per_epoch},
          {"test_accuracy", test_accuracy}};
}

}  // namespace ssdd::evaluate
