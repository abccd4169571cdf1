#include "ssdd/models/convnet.h"

#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/models/channels_last.h"
#include "ssdd/models/norm_relu_pool.h"
#include "ssdd/models/one_channel_block.h"
#include "ssdd/models/winograd_conv.h"

namespace ssdd::models {

const char* norm_name(Norm norm) {
  switch (norm) {
    case Norm::batch: return "batch";
    case Norm::instance: return "instance";
    case Norm::none: return "none";
  }
  return "?";
}

ConvNetImpl::ConvNetImpl(const ConvNetOptions& options, const ImageShape& shape)
    : options_(options) {
  if (options_.widths.empty()) {
    throw ConfigError("convnet", "needs at least one block width");
  }
  int64_t h = shape.height;
  int64_t w = shape.width;
  int64_t in = shape.channels;
  if (in <= 0 || h <= 0 || w <= 0) {
    throw ConfigError("convnet", "input shape must be positive");
  }
  for (size_t i = 0; i < options_.widths.size(); ++i) {
    const int64_t out = options_.widths[i];
    if (out <= 0) {
      throw ConfigError("convnet", "block widths must be positive, got " + std::to_string(out));
    }
    const std::string idx = std::to_string(i);
    convs_.push_back(register_module(
        "conv" + idx, torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(true))));
    if (options_.norm == Norm::batch) {
      batch_norms_.push_back(register_module("norm" + idx, SyncBatchNorm2d(out)));
    } else if (options_.norm == Norm::instance) {
      // Instance norm written as GroupNorm(groups = channels): unlike InstanceNorm2d it has a
      // per-channel affine and behaves identically in train and eval (no running statistics).
      group_norms_.push_back(register_module(
          "norm" + idx, torch::nn::GroupNorm(torch::nn::GroupNormOptions(out, out).affine(true))));
    }
    h /= 2;  // 2x2 average pool, stride 2, floor
    w /= 2;
    if (h < 1 || w < 1) {
      const size_t depth = options_.widths.size();
      const int64_t min_side = int64_t{1} << std::min<size_t>(depth, 62);
      throw ConfigError("convnet", std::to_string(depth) + " blocks need inputs of at least " +
                                       std::to_string(min_side) + "x" + std::to_string(min_side) + ", got " +
                                       std::to_string(shape.height) + "x" + std::to_string(shape.width));
    }
    in = out;
  }
  feature_dim_ = options_.global_pool ? in : in * h * w;
}

torch::Tensor ConvNetImpl::block(int64_t i, const torch::Tensor& x) {
  const auto k = static_cast<size_t>(i);
  if (options_.norm == Norm::batch && is_training()) return training_batch_norm_block(k, x);
  auto& conv = convs_.at(k);
  at::Tensor weight = conv->weight, bias = conv->bias;
  if (options_.norm == Norm::batch) {
    // Eval-mode batch norm is an affine map per channel: folded into the convolution's
    // weights and bias (a few thousand floats) it costs nothing per pixel, and saves a
    // pass over every activation (the outer step's and every feature extraction's).
    const auto& bn = batch_norms_[k];
    const at::Tensor scale = bn->weight * torch::rsqrt(bn->running_var + bn->options.eps());
    weight = conv->weight * scale.view({-1, 1, 1, 1});
    bias = (conv->bias - bn->running_mean) * scale + bn->bias;
  }
  const bool fused = options_.fused_tail;
  if (fused && options_.norm != Norm::instance && fusable_one_channel_block(x, weight))
    return conv_relu_pool(x, weight, bias);
  at::Tensor y = conv3x3(x, weight, bias, options_.winograd);
  if (options_.norm == Norm::instance) y = group_norms_[k]->forward(y);
  if (fused && fusable_block_tail(y)) return relu_pool(y);
  // In place: neither the convolution nor the norms keep their output for backward.
  return torch::avg_pool2d(torch::relu_(y), {2, 2}, {2, 2});
}

torch::Tensor ConvNetImpl::training_batch_norm_block(size_t k, const torch::Tensor& x) {
  auto& conv = convs_.at(k);
  auto& bn = *batch_norms_[k];
  const bool fused = options_.fused_tail && !bn.sum_across_ranks && bn.options.affine();
  if (fused && fusable_one_channel_block(x, conv->weight)) return conv_batch_norm_relu_pool(x, conv->weight, conv->bias, bn);
  at::Tensor y = conv3x3(x, conv->weight, conv->bias, options_.winograd);
  if (fused && fusable_block_tail(y)) return batch_norm_relu_pool(y, bn);
  y = bn.forward(y);
  return torch::avg_pool2d(torch::relu_(y), {2, 2}, {2, 2});
}

torch::Tensor ConvNetImpl::features(const torch::Tensor& x) {
  // Channels-last activations: oneDNN's convolutions run on NHWC without re-ordering, and
  // the element-wise passes follow the layout (1.3-1.6x on 2 cores at the ConvNet-3
  // shapes; docs/performance-log.md). The features come out in the usual order.
  auto y = to_channels_last(x);
  for (int64_t i = 0; i < depth(); ++i) y = block(i, y);
  return options_.global_pool ? y.mean({2, 3}) : y.flatten(1);
}

SyncBatchNorm2d ConvNetImpl::batch_norm(int64_t i) const {
  if (batch_norms_.empty()) return nullptr;
  return batch_norms_.at(static_cast<size_t>(i));
}

torch::nn::GroupNorm ConvNetImpl::group_norm(int64_t i) const {
  if (group_norms_.empty()) return nullptr;
  return group_norms_.at(static_cast<size_t>(i));
}

}  // namespace ssdd::models
