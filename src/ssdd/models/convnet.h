// ConvNet-D, the small network of the dataset-distillation literature (DC/DSA/MTT/KRR-ST):
// D blocks of [3x3 conv (bias) -> norm -> ReLU -> 2x2 average pool]. KRR-ST uses it as the
// inner model whose flattened last feature map feeds kernel ridge regression.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/modules/conv.h>
#include "ssdd/models/batch_norm.h"
#include <torch/nn/modules/normalization.h>

#include "ssdd/models/encoder.h"

namespace ssdd::models {

enum class Norm {
  batch,     // BatchNorm2d (affine, running statistics): KRR-ST's choice
  instance,  // GroupNorm with one group per channel (affine), as the DD literature writes it
  none,
};

const char* norm_name(Norm norm);

struct ConvNetOptions {
  std::vector<int64_t> widths{64, 64, 64};  // one entry per block; depth = widths.size()
  Norm norm = Norm::batch;
  bool global_pool = false;  // average the last map over space: feature_dim = widths.back()
  // Norm, ReLU and pooling as one pass where models/norm_relu_pool.h takes the map (CPU, float,
  // channels-last; batch norm of one process), the convolution too over one-channel images
  // (models/one_channel_block.h). false: LibTorch's ops, for comparisons.
  bool fused_tail = true;
  // 3x3 convolutions by Winograd where models/winograd_conv.h says it pays (wide layers, CPU,
  // AVX-512). false: LibTorch's direct convolutions, for comparisons.
  bool winograd = true;
};

class ConvNetImpl : public EncoderImpl {
 public:
  // Throws ssdd::ConfigError for empty/non-positive widths or an input too small for the
  // depth (every block halves the map; it must stay at least 1x1).
  ConvNetImpl(const ConvNetOptions& options, const ImageShape& shape);

  // Flattened output of the last block: N x (W_last * H/2^D * W/2^D), or N x W_last when
  // global_pool.
  torch::Tensor features(const torch::Tensor& x) override;
  int64_t feature_dim() const override { return feature_dim_; }
  std::string arch() const override { return "convnet"; }

  // One block (conv -> norm -> ReLU -> pool) on its own, for callers that fuse or inspect.
  torch::Tensor block(int64_t i, const torch::Tensor& x);

  // Per-layer access, e.g. to fold batch norm into the conv for inference.
  int64_t depth() const { return static_cast<int64_t>(convs_.size()); }
  const ConvNetOptions& options() const { return options_; }
  torch::nn::Conv2d conv(int64_t i) const { return convs_.at(static_cast<size_t>(i)); }
  // Null holders when the network uses another norm.
  SyncBatchNorm2d batch_norm(int64_t i) const;
  torch::nn::GroupNorm group_norm(int64_t i) const;

 private:
  // A training-mode batch-norm block: batch statistics, running statistics updated.
  torch::Tensor training_batch_norm_block(size_t k, const torch::Tensor& x);

  ConvNetOptions options_;
  int64_t feature_dim_ = 0;
  std::vector<torch::nn::Conv2d> convs_;             // "conv0", "conv1", ...
  std::vector<SyncBatchNorm2d> batch_norms_;  // "norm0", ... when norm == batch
  std::vector<torch::nn::GroupNorm> group_norms_;    // "norm0", ... when norm == instance
};

TORCH_MODULE(ConvNet);

}  // namespace ssdd::models
