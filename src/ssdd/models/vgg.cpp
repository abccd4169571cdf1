#include "ssdd/models/vgg.h"

#include <cmath>
#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::models {

Vgg11Impl::Vgg11Impl(const VggOptions& options, const ImageShape& shape) {
  if (!(options.width_mult > 0.0)) throw ConfigError("vgg11", "width multiplier must be positive");
  if (shape.channels <= 0 || shape.height <= 0 || shape.width <= 0) {
    throw ConfigError("vgg11", "input shape must be positive");
  }
  constexpr int64_t kPool = 0;  // marker in the configuration
  const std::vector<int64_t> cfg{64, kPool, 128, kPool, 256, 256, kPool, 512, 512, kPool, 512, 512, kPool};
  int64_t in = shape.channels;
  int64_t h = shape.height;
  int64_t w = shape.width;
  for (const int64_t v : cfg) {
    if (v == kPool) {
      // Skip pools that would leave nothing (tiny inputs); the last conv then sees >= 1x1.
      if (h >= 2 && w >= 2) {
        layers_.back().pool_after = true;
        h /= 2;
        w /= 2;
      }
      continue;
    }
    const int64_t out = std::max<int64_t>(1, std::llround(static_cast<double>(v) * options.width_mult));
    const std::string idx = std::to_string(layers_.size());
    Layer layer;
    layer.conv = register_module(
        "conv" + idx, torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1)));
    layer.bn = register_module("bn" + idx, SyncBatchNorm2d(out));
    layers_.push_back(layer);
    in = out;
  }
  feature_dim_ = in * h * w;
}

torch::Tensor Vgg11Impl::features(const torch::Tensor& x) {
  auto y = x;
  for (auto& layer : layers_) {
    y = torch::relu(layer.bn->forward(layer.conv->forward(y)));
    if (layer.pool_after) y = torch::max_pool2d(y, {2, 2}, {2, 2});
  }
  return y.flatten(1);
}

}  // namespace ssdd::models
