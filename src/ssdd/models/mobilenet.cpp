#include "ssdd/models/mobilenet.h"

#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::models {

namespace {

// Round a scaled channel count to a multiple of 8, never losing more than 10%.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t r = std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(r) < 0.9 * v) r += divisor;
  return r;
}

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups = 1) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2).groups(groups).bias(false));
}

}  // namespace

InvertedResidualImpl::InvertedResidualImpl(int64_t in, int64_t out, int64_t stride, int64_t expand_ratio)
    : residual_(stride == 1 && in == out) {
  const int64_t hidden = in * expand_ratio;
  if (expand_ratio != 1) {
    expand_ = register_module("expand", conv(in, hidden, 1, 1));
    expand_bn_ = register_module("expand_bn", SyncBatchNorm2d(hidden));
  }
  depthwise_ = register_module("depthwise", conv(hidden, hidden, 3, stride, hidden));
  depthwise_bn_ = register_module("depthwise_bn", SyncBatchNorm2d(hidden));
  project_ = register_module("project", conv(hidden, out, 1, 1));
  project_bn_ = register_module("project_bn", SyncBatchNorm2d(out));
}

torch::Tensor InvertedResidualImpl::forward(const torch::Tensor& x) {
  auto y = expand_ ? torch::relu6(expand_bn_->forward(expand_->forward(x))) : x;
  y = torch::relu6(depthwise_bn_->forward(depthwise_->forward(y)));
  y = project_bn_->forward(project_->forward(y));  // linear bottleneck: no activation
  return residual_ ? x + y : y;
}

MobileNetV2Impl::MobileNetV2Impl(const MobileNetV2Options& options, const ImageShape& shape) {
  const double m = options.width_mult;
  if (!(m > 0.0)) throw ConfigError("mobilenetv2", "width multiplier must be positive");
  if (shape.channels <= 0 || shape.height <= 0 || shape.width <= 0) {
    throw ConfigError("mobilenetv2", "input shape must be positive");
  }
  struct Stage {
    int64_t t, c, n, s;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 1}, {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int64_t in = make_divisible(32 * m);
  stem_ = register_module("stem", conv(shape.channels, in, 3, 1));
  stem_bn_ = register_module("stem_bn", SyncBatchNorm2d(in));
  blocks_ = torch::nn::Sequential();
  for (const auto& st : stages) {
    const int64_t out = make_divisible(static_cast<double>(st.c) * m);
    for (int64_t i = 0; i < st.n; ++i) {
      blocks_->push_back(InvertedResidual(in, out, i == 0 ? st.s : 1, st.t));
      in = out;
    }
  }
  register_module("blocks", blocks_);
  feature_dim_ = make_divisible(1280 * std::max(1.0, m));
  head_ = register_module("head", conv(in, feature_dim_, 1, 1));
  head_bn_ = register_module("head_bn", SyncBatchNorm2d(feature_dim_));

  // torchvision's initialisation: He-normal (fan-out) convs, unit/zero batch-norm affine.
  for (auto& mod : modules(/*include_self=*/false)) {
    if (auto* c = mod->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut);
    } else if (auto* b = mod->as<SyncBatchNorm2d>()) {
      torch::nn::init::ones_(b->weight);
      torch::nn::init::zeros_(b->bias);
    }
  }
}

torch::Tensor MobileNetV2Impl::features(const torch::Tensor& x) {
  auto y = torch::relu6(stem_bn_->forward(stem_->forward(x)));
  y = blocks_->forward(y);
  y = torch::relu6(head_bn_->forward(head_->forward(y)));
  return y.mean({2, 3});
}

}  // namespace ssdd::models
