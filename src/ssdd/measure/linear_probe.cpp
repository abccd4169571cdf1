#include "ssdd/measure/linear_probe.h"

#include <chrono>
#include <optional>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/stop.h"
#include "ssdd/data/registry.h"
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

ProbeResult linear_probe(const at::Tensor& train_features, const at::Tensor& train_labels,
                         const at::Tensor& test_features, const at::Tensor& test_labels, int64_t num_classes,
                         const ProbeOptions& options) {
  if (train_features.size(0) != train_labels.size(0) || test_features.size(0) != test_labels.size(0))
    throw Error("linear probe: features and labels differ in count");
  if (train_features.size(1) != test_features.size(1))
    throw Error("linear probe: train and test features differ in dimension");
  const auto start = std::chrono::steady_clock::now();
  torch::manual_seed(options.seed);  // the classifier's initial weights
  auto train_x = train_features.to(options.device, torch::kFloat);
  auto test_x = test_features.to(options.device, torch::kFloat);
  if (options.standardize) {
    const auto mean = train_x.mean(0, true);
    const auto std = train_x.std(0, /*unbiased=*/false, true).clamp_min(1e-6);
    train_x = (train_x - mean) / std;
    test_x = (test_x - mean) / std;
  }
  const auto train_y = train_labels.to(options.device, torch::kLong);
  const auto test_y = test_labels.to(options.device, torch::kLong);

  torch::nn::Linear classifier(train_x.size(1), num_classes);
  classifier->to(options.device);
  const auto fit = train::fit_options_of(options, "linear probe");
  train::fit_classifier(classifier->parameters(), train_y,
                        [&](const at::Tensor& idx) { return classifier(train_x.index_select(0, idx)); }, fit);

  torch::NoGradGuard no_grad;
  ProbeResult result;
  result.train_accuracy = train::top1_accuracy(classifier(train_x), train_y);
  result.test_accuracy = train::top1_accuracy(classifier(test_x), test_y);
  result.feature_dim = train_x.size(1);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ssdd::measure
