#include "ssdd/train/classifier_fit.h"

#include <torch/optim/sgd.h>
#include <torch/torch.h>

#include "ssdd/core/upload.h"
#include "ssdd/train/fit.h"
#include "ssdd/train/schedule.h"

namespace ssdd::train {

double fit_classifier(const std::vector<at::Tensor>& params, const at::Tensor& labels,
                      const std::function<at::Tensor(const at::Tensor& index)>& logits_of,
                      const ClassifierFitOptions& options) {
  return fit_classifier(
      params, labels, [&](const at::Tensor& index, at::Generator&) { return logits_of(index); }, options);
}

double fit_classifier(const std::vector<at::Tensor>& params, const at::Tensor& labels,
                      const std::function<at::Tensor(const at::Tensor& index, at::Generator& gen)>& logits_of,
                      const ClassifierFitOptions& options) {
  torch::optim::SGD optimizer(params, torch::optim::SGDOptions(options.lr)
                                          .momentum(options.momentum)
                                          .weight_decay(options.weight_decay));
  train::FitOptions fit;
  fit.stage = options.stage;
  fit.epochs = options.epochs;
  fit.steps = options.steps;
  fit.batch_size = options.batch_size;
  fit.drop_last = false;
  fit.seed = options.seed;
  fit.quiet = true;
  train::FitHooks hooks;
  hooks.batch_loss = [&](const at::Tensor& index, at::Generator& gen) {
    const at::Tensor idx = upload(index, options.device);
    return torch::cross_entropy_loss(logits_of(idx, gen), labels.index_select(0, idx));
  };
  hooks.learning_rate = [&](int64_t step, int64_t total) { return train::warmup_cosine(step, total, 0, options.lr); };
  return train::fit(labels.size(0), optimizer, fit, hooks).epoch_loss.back();
}

double top1_accuracy(const at::Tensor& logits, const at::Tensor& labels) {
  return logits.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
}

}  // namespace ssdd::train
