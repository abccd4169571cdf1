#include "ssdd/models/alexnet.h"

#include <cmath>
#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::models {

AlexNetImpl::AlexNetImpl(const AlexNetOptions& options, const ImageShape& shape) {
  if (!(options.width_mult > 0.0)) throw ConfigError("alexnet", "width multiplier must be positive");
  if (shape.channels <= 0 || shape.height <= 0 || shape.width <= 0) {
    throw ConfigError("alexnet", "input shape must be positive");
  }
  struct Spec {
    int64_t width, kernel;
    bool pool;
  };
  // Padding k/2 keeps the map size, so only the pools shrink it.
  const Spec specs[] = {{128, 5, true}, {192, 5, true}, {256, 3, false}, {192, 3, false}, {192, 3, true}};
  int64_t in = shape.channels;
  int64_t h = shape.height;
  int64_t w = shape.width;
  for (const auto& s : specs) {
    const int64_t out = std::max<int64_t>(1, std::llround(static_cast<double>(s.width) * options.width_mult));
    convs_.push_back(register_module(
        "conv" + std::to_string(convs_.size()),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, s.kernel).padding(s.kernel / 2))));
    // As in VGG, a pool that would leave an empty map is skipped.
    const bool pool = s.pool && h >= 2 && w >= 2;
    pool_after_.push_back(pool);
    if (pool) {
      h /= 2;
      w /= 2;
    }
    in = out;
  }
  feature_dim_ = in * h * w;
}

torch::Tensor AlexNetImpl::features(const torch::Tensor& x) {
  auto y = x;
  for (size_t i = 0; i < convs_.size(); ++i) {
    y = torch::relu(convs_[i]->forward(y));
    if (pool_after_[i]) y = torch::max_pool2d(y, {2, 2}, {2, 2});
  }
  return y.flatten(1);
}

}  // namespace ssdd::models
