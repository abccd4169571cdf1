// ResNet18 (BasicBlock, [2,2,2,2]). The default CIFAR stem (3x3 stride-1 conv, no max-pool)
// is the Barlow Twins teacher of KRR-ST; the ImageNet stem (7x7 stride 2 + max-pool) suits
// 64x64 and larger inputs. Features: global-average-pooled last stage, no fc, no L2 norm.
#pragma once
#include <cstdint>
#include <string>

#include "ssdd/models/batch_norm.h"
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include "ssdd/models/encoder.h"

namespace ssdd::models {

struct ResNetOptions {
  int64_t base_width = 64;     // stage widths w, 2w, 4w, 8w; 64 = standard (512-d features)
  bool imagenet_stem = false;  // 7x7/2 conv + 3x3/2 max-pool instead of 3x3/1 conv
  // Padding of the CIFAR stem's 3x3 conv. 1 keeps the map size; KRR-ST's code uses 2 (a
  // 34x34 map at 32x32 input), which only shifts the later map sizes.
  int64_t stem_padding = 1;
};

// conv3x3 -> BN -> ReLU -> conv3x3 -> BN, plus identity (or 1x1 conv + BN when the shape
// changes), then ReLU.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  SyncBatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};  // null: identity
};
TORCH_MODULE(BasicBlock);

class ResNet18Impl : public EncoderImpl {
 public:
  ResNet18Impl(const ResNetOptions& options, const ImageShape& shape);

  torch::Tensor features(const torch::Tensor& x) override;  // N x 8*base_width
  int64_t feature_dim() const override { return 8 * options_.base_width; }
  std::string arch() const override { return "resnet18"; }
  const ResNetOptions& options() const { return options_; }

 private:
  ResNetOptions options_;
  torch::nn::Conv2d conv1_{nullptr};
  SyncBatchNorm2d bn1_{nullptr};
  torch::nn::Sequential layer1_{nullptr}, layer2_{nullptr}, layer3_{nullptr}, layer4_{nullptr};
};
TORCH_MODULE(ResNet18);

}  // namespace ssdd::models
