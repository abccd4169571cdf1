// The linear-evaluation protocol, one routine for every stage that probes an encoder:
// freeze it, extract features of a target's train and test splits once (batched, no
// gradient), fit a linear classifier on the train features, score top-1 on test.
// Settings are the paper's: SGD momentum 0.9, no weight decay, lr 0.2 with cosine
// decay, batch 256.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "ssdd/data/dataset.h"

namespace ssdd::measure {

// Maps a float, normalised N x C x H x W batch to N x p features.
using FeatureFn = std::function<at::Tensor(const at::Tensor&)>;

// Runs `fn` over uint8 images in batches under NoGradGuard; returns float features on CPU.
// A non-empty `progress_stage` prints progress (images, rate, ETA) under that name: for the
// long extractions of a whole split by a teacher, not for the grid's many short ones.
at::Tensor extract_features(const FeatureFn& fn, const at::Tensor& images_u8, const data::Normalization& norm,
                            int64_t batch_size, c10::Device device, const std::string& progress_stage = "");

// Each column's mean and population standard deviation (floored at 1e-6), 1 x p each: the
// standardisation of ProbeOptions::standardize.
std::pair<at::Tensor, at::Tensor> column_mean_std(const at::Tensor& features);

struct ProbeOptions {
  int64_t epochs = 30;
  int64_t steps = 0;  // >0: this many SGD steps instead of `epochs`
  int64_t batch_size = 256;
  double lr = 0.2;
  double momentum = 0.9;
  double weight_decay = 0.0;
  // Standardise each feature with the train split's mean and std first. Flattened
  // ConvNet features and pooled ResNet features differ in scale by orders of
  // magnitude; one learning rate only suits both after this. [decision, SPEC 9]
  bool standardize = true;
  uint64_t seed = 0;
  c10::Device device = c10::Device(c10::kCPU);
};

// The two probe protocols a grid can name [decision, issue 23]:
//   "standardized"  ssdd's default above: standardised features, 30 epochs, batch 256;
//   "krrst"         KRR-ST's linear_eval.py (SPEC 7): raw features, batch 512, 5,000 SGD
//                   steps, lr 0.2 cosine, momentum 0.9, no weight decay.
// Throws ConfigError naming the valid names for another.
ProbeOptions probe_protocol(const std::string& name);
std::vector<std::string> probe_protocols();

struct ProbeResult {
  double test_accuracy = 0;   // top-1, in [0, 1]
  double train_accuracy = 0;
  int64_t feature_dim = 0;
  double seconds = 0;         // the classifier fit only
};

ProbeResult linear_probe(const at::Tensor& train_features, const at::Tensor& train_labels,
                         const at::Tensor& test_features, const at::Tensor& test_labels, int64_t num_classes,
                         const ProbeOptions& options);

}  // namespace ssdd::measure
