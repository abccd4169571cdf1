// AlexNet for small inputs, the DD literature's variant: five convs (128 5x5, 192 5x5,
// 256 3x3, 192 3x3, 192 3x3), ReLU after each, 2x2 max-pools after the 1st, 2nd and 5th; no
// normalisation, no classifier. Works at 28x28x1 (maps 28->14->7->3) and 32x32x3 (->4).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/conv.h>

#include "ssdd/models/encoder.h"

namespace ssdd::models {

struct AlexNetOptions {
  double width_mult = 1.0;  // every conv width scaled (rounded, at least 1)
};

class AlexNetImpl : public EncoderImpl {
 public:
  AlexNetImpl(const AlexNetOptions& options, const ImageShape& shape);

  // Flattened last map: 192*4*4 = 3072 at 32x32, 192*3*3 = 1728 at 28x28 (width 1).
  torch::Tensor features(const torch::Tensor& x) override;
  int64_t feature_dim() const override { return feature_dim_; }
  std::string arch() const override { return "alexnet"; }

 private:
  std::vector<torch::nn::Conv2d> convs_;  // "conv0".."conv4"
  std::vector<bool> pool_after_;
  int64_t feature_dim_ = 0;
};
TORCH_MODULE(AlexNet);

}  // namespace ssdd::models
