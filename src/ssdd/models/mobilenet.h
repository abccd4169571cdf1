// MobileNetV2 for 32x32 inputs. CIFAR variant: the stem conv has stride 1 and the second
// inverted-residual stage (24 channels) stride 1 instead of 2, so a 32x32 input ends at 4x4
// rather than 1x1; the other stages follow the standard table (t, c, n, s):
// (1,16,1,1) (6,24,2,1*) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1).
// Features: 1x1 conv to 1280 (kept at 1280 for width < 1, as torchvision does), BN, ReLU6,
// global average pool.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ssdd/models/batch_norm.h"
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include "ssdd/models/encoder.h"

namespace ssdd::models {

struct MobileNetV2Options {
  double width_mult = 1.0;  // channel counts scaled and rounded to multiples of 8
};

// 1x1 expand (skipped when t == 1) -> 3x3 depthwise (stride) -> 1x1 linear projection; a
// residual connection when the stride is 1 and the width is unchanged.
class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d expand_{nullptr}, depthwise_{nullptr}, project_{nullptr};
  SyncBatchNorm2d expand_bn_{nullptr}, depthwise_bn_{nullptr}, project_bn_{nullptr};
  bool residual_ = false;
};
TORCH_MODULE(InvertedResidual);

class MobileNetV2Impl : public EncoderImpl {
 public:
  MobileNetV2Impl(const MobileNetV2Options& options, const ImageShape& shape);

  torch::Tensor features(const torch::Tensor& x) override;  // N x last_channel
  int64_t feature_dim() const override { return feature_dim_; }
  std::string arch() const override { return "mobilenetv2"; }

 private:
  torch::nn::Conv2d stem_{nullptr}, head_{nullptr};
  SyncBatchNorm2d stem_bn_{nullptr}, head_bn_{nullptr};
  torch::nn::Sequential blocks_{nullptr};
  int64_t feature_dim_ = 0;
};
TORCH_MODULE(MobileNetV2);

}  // namespace ssdd::models
