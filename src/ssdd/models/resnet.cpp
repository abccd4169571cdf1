#include "ssdd/models/resnet.h"

#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/models/channels_last.h"

namespace ssdd::models {

namespace {

torch::nn::Conv2d bias_free_conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(pad).bias(false));
}

torch::nn::Sequential make_stage(int64_t in, int64_t out, int64_t stride) {
  // Two blocks; only the first changes width/resolution. Children are named "0", "1", so
  // parameter names read like torchvision's ("layer2.0.conv1.weight").
  return torch::nn::Sequential(BasicBlock(in, out, stride), BasicBlock(out, out, 1));
}

}  // namespace

BasicBlockImpl::BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
  conv1_ = register_module("conv1", bias_free_conv(in, out, 3, stride, 1));
  bn1_ = register_module("bn1", SyncBatchNorm2d(out));
  conv2_ = register_module("conv2", bias_free_conv(out, out, 3, 1, 1));
  bn2_ = register_module("bn2", SyncBatchNorm2d(out));
  if (stride != 1 || in != out) {
    shortcut_ = register_module("shortcut", torch::nn::Sequential(bias_free_conv(in, out, 1, stride, 0),
                                                                  SyncBatchNorm2d(out)));
  }
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto y = torch::relu(bn1_->forward(conv1_->forward(x)));
  y = bn2_->forward(conv2_->forward(y));
  return torch::relu(y + (shortcut_ ? shortcut_->forward(x) : x));
}

ResNet18Impl::ResNet18Impl(const ResNetOptions& options, const ImageShape& shape) : options_(options) {
  const int64_t w = options_.base_width;
  if (w <= 0) throw ConfigError("resnet18", "base width must be positive, got " + std::to_string(w));
  if (shape.channels <= 0 || shape.height <= 0 || shape.width <= 0) {
    throw ConfigError("resnet18", "input shape must be positive");
  }
  if (options_.stem_padding < 0) throw ConfigError("resnet18", "stem padding must be >= 0");
  conv1_ = register_module("conv1", options_.imagenet_stem ? bias_free_conv(shape.channels, w, 7, 2, 3)
                                                           : bias_free_conv(shape.channels, w, 3, 1, options_.stem_padding));
  bn1_ = register_module("bn1", SyncBatchNorm2d(w));
  layer1_ = register_module("layer1", make_stage(w, w, 1));
  layer2_ = register_module("layer2", make_stage(w, 2 * w, 2));
  layer3_ = register_module("layer3", make_stage(2 * w, 4 * w, 2));
  layer4_ = register_module("layer4", make_stage(4 * w, 8 * w, 2));

  // torchvision's initialisation: He-normal (fan-out) convs, unit/zero batch-norm affine.
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* c = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(c->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* b = m->as<SyncBatchNorm2d>()) {
      torch::nn::init::ones_(b->weight);
      torch::nn::init::zeros_(b->bias);
    }
  }
}

torch::Tensor ResNet18Impl::features(const torch::Tensor& x) {
  // Channels-last activations suit oneDNN's convolutions (as in the ConvNet; about 1.15x
  // for a training step of ResNet18:16 at 28x28, docs/performance-log.md).
  auto y = torch::relu(bn1_->forward(conv1_->forward(to_channels_last(x))));
  if (options_.imagenet_stem) y = torch::max_pool2d(y, {3, 3}, {2, 2}, {1, 1});
  y = layer4_->forward(layer3_->forward(layer2_->forward(layer1_->forward(y))));
  return y.mean({2, 3});
}

}  // namespace ssdd::models
