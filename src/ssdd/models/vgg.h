// VGG11 with batch norm, sized for small inputs (the DD literature's cross-architecture
// model): cfg 64,M,128,M,256,256,M,512,512,M,512,512,M of 3x3 convs and 2x2 max-pools.
// A pool that would take the map below 1x1 is skipped (28x28 inputs reach 1x1 after four).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ssdd/models/batch_norm.h"
#include <torch/nn/modules/conv.h>

#include "ssdd/models/encoder.h"

namespace ssdd::models {

struct VggOptions {
  double width_mult = 1.0;  // every conv width scaled (rounded, at least 1)
};

class Vgg11Impl : public EncoderImpl {
 public:
  Vgg11Impl(const VggOptions& options, const ImageShape& shape);

  // Flattened last map: 512 * h * w at width 1 (512 at 32x32 and at 28x28).
  torch::Tensor features(const torch::Tensor& x) override;
  int64_t feature_dim() const override { return feature_dim_; }
  std::string arch() const override { return "vgg11"; }

 private:
  struct Layer {
    torch::nn::Conv2d conv{nullptr};
    SyncBatchNorm2d bn{nullptr};
    bool pool_after = false;
  };
  std::vector<Layer> layers_;  // "conv0"/"bn0", ... (numbered by conv, pools are not modules)
  int64_t feature_dim_ = 0;
};
TORCH_MODULE(Vgg11);

}  // namespace ssdd::models
