#include "ssdd/measure/linear_probe.h"

#include <chrono>
#include <optional>
#include <utility>

#include <ATen/Config.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/stop.h"
#include "ssdd/data/registry.h"
#include "ssdd/measure/gathered_linear.h"
#include "ssdd/train/classifier_fit.h"
#include "ssdd/train/progress.h"

namespace ssdd::measure {

at::Tensor extract_features(const FeatureFn& fn, const at::Tensor& images_u8, const data::Normalization& norm,
                            int64_t batch_size, c10::Device device, const std::string& progress_stage) {
  torch::NoGradGuard no_grad;
  const int64_t n = images_u8.size(0);
  std::optional<train::Progress> progress;
  if (!progress_stage.empty()) progress.emplace(progress_stage, n, "img/s");
  std::vector<at::Tensor> parts;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    throw_if_stopped("feature extraction", begin);  // its caller redoes it on resume
    const int64_t end = std::min(n, begin + batch_size);
    const auto batch = images_u8.slice(0, begin, end).to(device);
    parts.push_back(fn(data::normalize(batch, norm)).flatten(1).to(torch::kCPU));
    if (progress) progress->update(end, "", static_cast<double>(end - begin));
  }
  if (progress) progress->finish("done");
  return torch::cat(parts);
}

std::vector<std::string> probe_protocols() { return {"standardized", "krrst"}; }

ProbeOptions probe_protocol(const std::string& name) {
  ProbeOptions o;
  if (name == "standardized") return o;
  if (name == "krrst") {
    o.standardize = false;
    o.steps = 5000;
    o.batch_size = 512;
    return o;
  }
  throw ConfigError("probe", "expected one of standardized, krrst; found '" + name + "'");
}

// The squared deviations are summed a block of rows at a time: ATen 1.13's std along dim 0
// took 3.0 s for 50,000 x 4,096 features, this way 0.8-0.9 s (both timed in Python on the same
// library), and no N x p temporary.
std::pair<at::Tensor, at::Tensor> column_mean_std(const at::Tensor& x) {
  constexpr int64_t kRowsPerBlock = 2048;
  const auto mean = x.mean(0, /*keepdim=*/true);
  auto squares = torch::zeros_like(mean, torch::kDouble);
  for (int64_t begin = 0; begin < x.size(0); begin += kRowsPerBlock) {
    const auto deviations = x.slice(0, begin, std::min(x.size(0), begin + kRowsPerBlock)) - mean;
    squares += deviations.square().sum(0, /*keepdim=*/true);
  }
  const auto std = (squares / static_cast<double>(x.size(0))).sqrt().to(x.scalar_type());
  return {mean, std.clamp_min(1e-6)};
}

namespace {

at::Tensor standardized(const at::Tensor& x, const at::Tensor& mean, const at::Tensor& std) {
  auto out = x - mean;
  return out.div_(std);
}

// ATen's OpenMP threads for one scope. A probe step is a batch of 256 or 512 rows read at
// random and a few batch x classes operations, bound by the memory's latency: a second thread
// made it slower on 2 cores, whether the products ran in OpenBLAS's pool beside ATen's (the
// plain step: the two pools spun against each other) or in ATen's (the gathered one). It
// changes nothing where there is one pool: MKL computes on ATen's OpenMP threads (and ATen's
// count is MKL's), and ATen's native pool cannot change size once started.
class AtenThreads {
 public:
  explicit AtenThreads(int threads) : saved_(at::get_num_threads()) {
    if (kTwoPools) at::set_num_threads(threads);
  }
  ~AtenThreads() {
    if (kTwoPools) at::set_num_threads(saved_);
  }
  AtenThreads(const AtenThreads&) = delete;
  AtenThreads& operator=(const AtenThreads&) = delete;

 private:
  static constexpr bool kTwoPools = AT_PARALLEL_OPENMP && !AT_MKL_ENABLED();
  int saved_;
};

}  // namespace

ProbeResult linear_probe(const at::Tensor& train_features, const at::Tensor& train_labels,
                         const at::Tensor& test_features, const at::Tensor& test_labels, int64_t num_classes,
                         const ProbeOptions& options) {
  if (train_features.size(0) != train_labels.size(0) || test_features.size(0) != test_labels.size(0))
    throw Error("linear probe: features and labels differ in count");
  if (train_features.size(1) != test_features.size(1))
    throw Error("linear probe: train and test features differ in dimension");
  const auto start = std::chrono::steady_clock::now();
  torch::manual_seed(options.seed);  // the classifier's initial weights
  auto train_x = train_features.to(options.device, torch::kFloat).contiguous();
  auto test_x = test_features.to(options.device, torch::kFloat).contiguous();
  // On the CPU the classifier reads the rows it needs, standardised as they are read
  // (measure/gathered_linear.h); elsewhere the features are standardised copies.
  const bool gathered = gathered_linear_applies(train_x) && gathered_linear_applies(test_x);
  ColumnScaling scaling;
  if (options.standardize) {
    const auto [mean, std] = column_mean_std(train_x);
    if (gathered) {
      scaling = {mean, std.reciprocal()};
    } else {
      train_x = standardized(train_x, mean, std);
      test_x = standardized(test_x, mean, std);
    }
  }
  const auto train_y = train_labels.to(options.device, torch::kLong);
  const auto test_y = test_labels.to(options.device, torch::kLong);

  torch::nn::Linear classifier(train_x.size(1), num_classes);
  classifier->to(options.device);
  auto logits = [&](const at::Tensor& x, const at::Tensor& idx) {
    if (gathered) return gathered_linear(x, idx, classifier->weight, classifier->bias, scaling);
    return classifier(idx.defined() ? x.index_select(0, idx) : x);
  };
  {
    const AtenThreads one_thread(options.device.is_cpu() ? 1 : at::get_num_threads());
    train::fit_classifier(classifier->parameters(), train_y,
                          [&](const at::Tensor& idx) { return logits(train_x, idx); },
                          train::fit_options_of(options, "linear probe"));
  }

  torch::NoGradGuard no_grad;
  ProbeResult result;
  auto every_row = [&](const at::Tensor& x) { return gathered ? torch::arange(x.size(0)) : at::Tensor(); };
  result.train_accuracy = train::top1_accuracy(logits(train_x, every_row(train_x)), train_y);
  result.test_accuracy = train::top1_accuracy(logits(test_x, every_row(test_x)), test_y);
  result.feature_dim = train_x.size(1);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ssdd::measure
