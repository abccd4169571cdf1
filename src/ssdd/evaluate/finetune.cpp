#include "ssdd/evaluate/finetune.h"

#include <chrono>

#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include "ssdd/core/error.h"
#include "ssdd/core/upload.h"
#include "ssdd/data/registry.h"
#include "ssdd/train/fit.h"
#include "ssdd/train/schedule.h"

namespace ssdd::evaluate {
namespace {

// Top-1 accuracy of encoder + classifier over uint8 images, in eval mode, batched.
double accuracy(models::EncoderImpl& encoder, torch::nn::Linear& classifier, const at::Tensor& images,
                const at::Tensor& labels, const data::Normalization& norm, c10::Device device) {
  torch::NoGradGuard no_grad;
  const int64_t n = images.size(0);
  at::Tensor hits = torch::zeros({}, torch::TensorOptions().dtype(torch::kLong).device(device));
  for (int64_t begin = 0; begin < n; begin += 512) {
    const int64_t end = std::min(n, begin + 512);
    const at::Tensor x = data::normalize(images.slice(0, begin, end).to(device), norm);
    hits += classifier(encoder.features(x)).argmax(1).eq(labels.slice(0, begin, end).to(device)).sum();
  }
  return n > 0 ? static_cast<double>(hits.item<int64_t>()) / static_cast<double>(n) : 0.0;
}

}  // namespace

FinetuneResult finetune(models::Encoder encoder, const data::ImageSet& train, const data::ImageSet& test,
                        const data::Normalization& norm, const FinetuneOptions& options) {
  if (!train.has_labels() || !test.has_labels())
    throw ConfigError("finetune", "the target data set needs labels on its train and test splits");
  if (options.epochs < 1) throw ConfigError("finetune_epochs", "must be at least 1");
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = options.max_train > 0 ? std::min(options.max_train, train.size()) : train.size();
  const at::Tensor images = train.images.slice(0, 0, n).to(options.device);
  const at::Tensor labels = train.labels.slice(0, 0, n).to(options.device, torch::kLong);

  torch::manual_seed(options.seed);  // the classifier's initial weights
  torch::nn::Linear classifier(encoder->feature_dim(), train.num_classes);
  encoder->to(options.device);
  classifier->to(options.device);
  std::vector<at::Tensor> params = encoder->parameters();
  for (const auto& p : classifier->parameters()) params.push_back(p);
  torch::optim::SGD optimizer(params, torch::optim::SGDOptions(options.lr)
                                          .momentum(options.momentum)
                                          .weight_decay(options.weight_decay));
  train::FitOptions fit;
  fit.stage = "fine-tune";
  fit.epochs = options.epochs;
  fit.batch_size = options.batch_size;
  fit.drop_last = false;
  fit.seed = options.seed;
  fit.quiet = true;
  train::FitHooks hooks;
  hooks.batch_loss = [&](const at::Tensor& index, at::Generator&) {
    const at::Tensor idx = upload(index, options.device);
    const at::Tensor x = data::normalize(images.index_select(0, idx), norm);
    return torch::cross_entropy_loss(classifier(encoder->features(x)), labels.index_select(0, idx));
  };
  hooks.learning_rate = [&](int64_t step, int64_t total) { return train::warmup_cosine(step, total, 0, options.lr); };
  encoder->train();
  classifier->train();
  const train::FitResult r = train::fit(n, optimizer, fit, hooks);
  encoder->eval();
  classifier->eval();

  FinetuneResult result;
  result.final_loss = r.epoch_loss.back();
  result.train_accuracy = accuracy(*encoder, classifier, images, labels, norm, options.device);
  result.test_accuracy = accuracy(*encoder, classifier, test.images, test.labels, norm, options.device);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ssdd::evaluate
