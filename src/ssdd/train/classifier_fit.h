// The one way a classifier is trained and scored here, shared by the linear probe and
// full fine-tuning: cross-entropy, SGD with momentum and weight decay, the rate decayed by
// a cosine over every step, batches through train::fit; top-1 accuracy of logits.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace ssdd::train {

struct ClassifierFitOptions {
  std::string stage;  // names the loop in progress lines and errors
  int64_t epochs = 1;
  int64_t steps = 0;  // >0: exactly this many SGD steps instead of `epochs` (KRR-ST counts iterations)
  int64_t batch_size = 256;
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 0.0;
  uint64_t seed = 0;  // batch order
  c10::Device device = c10::Device(c10::kCPU);
};

// The fit settings of an evaluation protocol's options (the linear probe's, fine-tuning's),
// which name them alike.
template <class ProtocolOptions>
ClassifierFitOptions fit_options_of(const ProtocolOptions& o, std::string stage) {
  ClassifierFitOptions fit;
  fit.stage = std::move(stage);
  fit.epochs = o.epochs;
  fit.steps = o.steps;
  fit.batch_size = o.batch_size;
  fit.lr = o.lr;
  fit.momentum = o.momentum;
  fit.weight_decay = o.weight_decay;
  fit.seed = o.seed;
  fit.device = o.device;
  return fit;
}

// Trains `params` so that logits_of(index) (index: int64 on the device, into the n
// training items) predicts labels[index] (`labels`: int64, on the device). Returns the
// mean loss of the last epoch.
double fit_classifier(const std::vector<at::Tensor>& params, const at::Tensor& labels,
                      const std::function<at::Tensor(const at::Tensor& index)>& logits_of,
                      const ClassifierFitOptions& options);

// The same, for batches that need randomness (augmentation): logits_of also gets the fit
// loop's generator, seeded from options.seed, the only one a batch may draw from so that
// the same seed gives the same numbers.
double fit_classifier(const std::vector<at::Tensor>& params, const at::Tensor& labels,
                      const std::function<at::Tensor(const at::Tensor& index, at::Generator& gen)>& logits_of,
                      const ClassifierFitOptions& options);

// Fraction of rows whose largest logit is at the label (labels on the logits' device).
double top1_accuracy(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace ssdd::train
