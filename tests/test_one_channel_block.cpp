// The fused one-channel ConvNet block (models/one_channel_block.h) against LibTorch's conv2d ->
// [batch_norm ->] relu -> avg_pool2d: outputs, the gradients of the image, the convolution and
// the norm, and the running statistics, at odd sides (the pool drops the last row and column,
// the statistics and the convolution's gradients keep them), one output channel and widths that
// are not a multiple of the kernels' eight lanes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "convnet_twins.h"
#include "ssdd/models/batch_norm.h"
#include "ssdd/models/convnet.h"
#include "ssdd/models/one_channel_block.h"

using namespace ssdd::models;

namespace {

// A gradient that differs at every output position, so a misplaced one shows.
at::Tensor uneven_like(const at::Tensor& y) {
  return torch::arange(y.numel(), torch::kFloat).view(y.sizes()).sin();
}

struct Shape {
  int64_t n, h, w, channels;
};
const std::vector<Shape> kShapes = {{3, 7, 9, 5}, {2, 6, 5, 1}, {4, 8, 8, 32}, {2, 3, 2, 3}, {2, 12, 10, 19}};

// A convolution's parameters as leaves, and a copy of them.
struct Params {
  at::Tensor weight, bias;
  Params copy() const { return {weight.detach().clone().requires_grad_(), bias.detach().clone().requires_grad_()}; }
};

Params random_conv(int64_t channels) {
  return {torch::randn({channels, 1, 3, 3}).requires_grad_(), (torch::randn({channels}) * 0.3).requires_grad_()};
}

void expect_close(const at::Tensor& a, const at::Tensor& b, double rtol, double atol, const std::string& what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  EXPECT_TRUE(torch::allclose(a, b, rtol, atol)) << what << ": largest difference " << (a - b).abs().max().item<float>();
}

}  // namespace

TEST(OneChannelBlock, ConvReluPoolIsLibTorchsConvolutionThenReluThenPool) {
  torch::manual_seed(1);
  for (const Shape& s : kShapes) {
    const std::string what = std::to_string(s.n) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) + " c" +
                             std::to_string(s.channels);
    const at::Tensor x = torch::randn({s.n, 1, s.h, s.w});
    const Params fused_conv = random_conv(s.channels), plain_conv = fused_conv.copy();
    ASSERT_TRUE(fusable_one_channel_block(x, fused_conv.weight));
    const at::Tensor a = x.clone().requires_grad_(), b = x.clone().requires_grad_();
    const at::Tensor fused = conv_relu_pool(a, fused_conv.weight, fused_conv.bias);
    const at::Tensor plain =
        torch::avg_pool2d(torch::relu(torch::conv2d(b, plain_conv.weight, plain_conv.bias, 1, 1)), {2, 2}, {2, 2});
    ASSERT_EQ(fused.sizes(), plain.sizes()) << what;
    EXPECT_TRUE(fused.is_contiguous(at::MemoryFormat::ChannelsLast)) << what;
    expect_close(fused, plain, 1e-5, 1e-5, what + " output");
    const at::Tensor g = uneven_like(plain);
    (fused * g).sum().backward();
    (plain * g).sum().backward();
    expect_close(a.grad(), b.grad(), 1e-4, 1e-5, what + " image gradient");
    expect_close(fused_conv.weight.grad(), plain_conv.weight.grad(), 1e-4, 1e-4, what + " weight gradient");
    expect_close(fused_conv.bias.grad(), plain_conv.bias.grad(), 1e-4, 1e-4, what + " bias gradient");
  }
}

TEST(OneChannelBlock, ConvBatchNormReluPoolIsLibTorchsTrainingBlock) {
  torch::manual_seed(2);
  for (const Shape& s : kShapes) {
    const std::string what = std::to_string(s.n) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) + " c" +
                             std::to_string(s.channels);
    const Params fused_conv = random_conv(s.channels), plain_conv = fused_conv.copy();
    SyncBatchNorm2d fused_norm(s.channels), plain_norm(s.channels);
    {
      torch::NoGradGuard no_grad;
      fused_norm->weight.uniform_(0.5, 1.5);
      fused_norm->bias.uniform_(-0.5, 0.5);
      plain_norm->weight.copy_(fused_norm->weight);
      plain_norm->bias.copy_(fused_norm->bias);
    }
    for (int step = 0; step < 2; ++step) {  // the running statistics' second update too
      const at::Tensor x = torch::randn({s.n, 1, s.h, s.w}) * 2.0 + step;
      const at::Tensor a = x.clone().requires_grad_(), b = x.clone().requires_grad_();
      const at::Tensor fused = conv_batch_norm_relu_pool(a, fused_conv.weight, fused_conv.bias, *fused_norm);
      const at::Tensor plain = torch::avg_pool2d(
          torch::relu(plain_norm->forward(torch::conv2d(b, plain_conv.weight, plain_conv.bias, 1, 1))), {2, 2},
          {2, 2});
      expect_close(fused, plain, 1e-4, 1e-5, what + " output");
      const at::Tensor g = uneven_like(plain);
      (fused * g).sum().backward();
      (plain * g).sum().backward();
      expect_close(a.grad(), b.grad(), 1e-3, 1e-4, what + " image gradient");
    }
    expect_close(fused_conv.weight.grad(), plain_conv.weight.grad(), 1e-3, 1e-4, what + " weight gradient");
    expect_close(fused_conv.bias.grad(), plain_conv.bias.grad(), 1e-3, 1e-4, what + " bias gradient");
    expect_close(fused_norm->weight.grad(), plain_norm->weight.grad(), 1e-4, 1e-4, what + " norm weight gradient");
    expect_close(fused_norm->bias.grad(), plain_norm->bias.grad(), 1e-4, 1e-4, what + " norm bias gradient");
    expect_close(fused_norm->running_mean, plain_norm->running_mean, 1e-5, 1e-6, what + " running mean");
    expect_close(fused_norm->running_var, plain_norm->running_var, 1e-5, 1e-5, what + " running variance");
    EXPECT_EQ(fused_norm->num_batches_tracked.item<int64_t>(), 2);
  }
}

// An image that needs no gradient (a model's own training step) gets none, and the parameters'
// gradients do not change for it.
TEST(OneChannelBlock, AnImageWithoutGradientGetsNone) {
  torch::manual_seed(3);
  const at::Tensor x = torch::randn({4, 1, 9, 9});
  const Params with_image = random_conv(6), without_image = with_image.copy();
  const at::Tensor a = x.clone().requires_grad_();
  (conv_relu_pool(a, with_image.weight, with_image.bias) * 3).sum().backward();
  (conv_relu_pool(x, without_image.weight, without_image.bias) * 3).sum().backward();
  EXPECT_TRUE(a.grad().defined());
  EXPECT_FALSE(x.grad().defined());
  EXPECT_TRUE(torch::equal(with_image.weight.grad(), without_image.weight.grad()));
  EXPECT_TRUE(torch::equal(with_image.bias.grad(), without_image.bias.grad()));
}

TEST(OneChannelBlock, AConvolutionWithoutBiasIsOneWithZeroBias) {
  torch::manual_seed(7);
  const at::Tensor x = torch::randn({3, 1, 7, 6});
  const at::Tensor fused_weight = torch::randn({5, 1, 3, 3}).requires_grad_();
  const at::Tensor plain_weight = fused_weight.detach().clone().requires_grad_();
  const at::Tensor fused = conv_relu_pool(x, fused_weight, at::Tensor());
  const at::Tensor plain = torch::avg_pool2d(torch::relu(torch::conv2d(x, plain_weight, {}, 1, 1)), {2, 2}, {2, 2});
  expect_close(fused, plain, 1e-5, 1e-5, "output");
  (fused * uneven_like(plain)).sum().backward();
  (plain * uneven_like(plain)).sum().backward();
  expect_close(fused_weight.grad(), plain_weight.grad(), 1e-4, 1e-4, "weight gradient");
}

TEST(OneChannelBlock, TheSameInputGivesTheSameBitsEveryTime) {
  torch::manual_seed(4);
  const at::Tensor x = torch::randn({16, 1, 14, 14}) * 2.0 + 1.0;
  const Params conv = random_conv(8);
  std::vector<at::Tensor> outputs, grads;
  for (int run = 0; run < 2; ++run) {
    SyncBatchNorm2d norm(8);
    const Params p = conv.copy();
    const at::Tensor a = x.clone().requires_grad_();
    const at::Tensor y = conv_batch_norm_relu_pool(a, p.weight, p.bias, *norm);
    (y * uneven_like(y)).sum().backward();
    outputs.push_back(y.detach());
    grads.insert(grads.end(), {a.grad(), p.weight.grad(), p.bias.grad(), norm->weight.grad()});
  }
  EXPECT_TRUE(torch::equal(outputs[0], outputs[1]));
  for (size_t i = 0; i < 4; ++i) EXPECT_TRUE(torch::equal(grads[i], grads[i + 4])) << i;
}

TEST(OneChannelBlock, OnlyFloatOneChannelImagesAndThreeByThreeWeightsAreTaken) {
  const at::Tensor w = torch::randn({4, 1, 3, 3});
  EXPECT_TRUE(fusable_one_channel_block(torch::randn({2, 1, 2, 2}), w));
  EXPECT_FALSE(fusable_one_channel_block(torch::randn({2, 3, 8, 8}), torch::randn({4, 3, 3, 3})));
  EXPECT_FALSE(fusable_one_channel_block(torch::randn({2, 1, 1, 8}), w));
  EXPECT_FALSE(fusable_one_channel_block(torch::randn({2, 1, 8, 8}), torch::randn({4, 1, 5, 5})));
  EXPECT_FALSE(fusable_one_channel_block(torch::randn({2, 1, 8, 8}, torch::kDouble), w.to(torch::kDouble)));
  EXPECT_FALSE(fusable_one_channel_block(torch::randn({2, 1, 8, 16}).slice(3, 0, 16, 2), w));  // strided
}

// A ConvNet over grey images in evaluation mode (batch norm folded into the fused first block):
// features and the image's gradient as with LibTorch's ops.
TEST(OneChannelBlock, AnEvaluationModeConvNetAgreesWithLibTorchs) {
  ConvNetOptions fused_options, plain_options;
  fused_options.widths = plain_options.widths = {12, 6};
  plain_options.fused_tail = false;
  auto [fused, plain] = convnet_twins(fused_options, plain_options, ImageShape{1, 10, 10}, 5);
  {
    torch::NoGradGuard no_grad;
    for (auto* net : {&fused, &plain}) {
      torch::manual_seed(6);
      (*net)->batch_norm(0)->running_mean.uniform_(-0.5, 0.5);
      (*net)->batch_norm(0)->running_var.uniform_(0.5, 2.0);
      (*net)->eval();
    }
  }
  const at::Tensor x = torch::randn({5, 1, 10, 10});
  const at::Tensor a = x.clone().requires_grad_(), b = x.clone().requires_grad_();
  const at::Tensor fa = fused->features(a), fb = plain->features(b);
  expect_close(fa, fb, 1e-5, 1e-5, "features");
  (fa * uneven_like(fa)).sum().backward();
  (fb * uneven_like(fb)).sum().backward();
  expect_close(a.grad(), b.grad(), 1e-4, 1e-5, "image gradient");
  expect_close(fused->conv(0)->weight.grad(), plain->conv(0)->weight.grad(), 1e-4, 1e-4, "weight gradient");
  expect_close(fused->batch_norm(0)->weight.grad(), plain->batch_norm(0)->weight.grad(), 1e-4, 1e-4,
               "norm weight gradient");
}
