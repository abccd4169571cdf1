// The common face of every network in the zoo: a feature extractor with a known output
// dimension. Distillation, teacher training and evaluation only ever see this interface.
#pragma once
#include <memory>
#include <string>

#include <torch/nn/module.h>

namespace ssdd::models {

// Input geometry a network is built for.
struct ImageShape {
  int64_t channels = 3;
  int64_t height = 32;
  int64_t width = 32;
};

class EncoderImpl : public torch::nn::Module {
 public:
  // The representation: a N x feature_dim() float tensor.
  virtual torch::Tensor features(const torch::Tensor& x) = 0;
  virtual int64_t feature_dim() const = 0;
  virtual std::string arch() const = 0;
  torch::Tensor forward(const torch::Tensor& x) { return features(x); }
};

using Encoder = std::shared_ptr<EncoderImpl>;

}  // namespace ssdd::models
