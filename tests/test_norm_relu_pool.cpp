// The fused block tail (models/norm_relu_pool.h) against LibTorch's batch_norm -> relu ->
// avg_pool2d: outputs, every gradient and the running statistics, at shapes with an odd side
// (the pool drops the last row and column, the statistics keep them) and one channel.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "convnet_twins.h"
#include "ssdd/models/batch_norm.h"
#include "ssdd/models/channels_last.h"
#include "ssdd/models/convnet.h"
#include "ssdd/models/norm_relu_pool.h"

using namespace ssdd::models;

namespace {

constexpr auto kChannelsLast = at::MemoryFormat::ChannelsLast;

at::Tensor channels_last_randn(std::vector<int64_t> shape, double scale = 1.0, double shift = 0.0) {
  return (torch::randn(shape) * scale + shift).to(torch::kFloat).contiguous(kChannelsLast);
}

// A gradient that differs at every output position, so a misplaced one shows.
at::Tensor uneven_like(const at::Tensor& y) {
  return torch::arange(y.numel(), torch::kFloat).view(y.sizes()).sin();
}

const std::vector<std::vector<int64_t>> kShapes = {{3, 5, 7, 7}, {2, 1, 6, 5}, {4, 32, 8, 8}, {2, 3, 3, 2}};

}  // namespace

TEST(NormReluPool, ReluPoolIsLibTorchsReluThenAveragePool) {
  torch::manual_seed(1);
  for (const auto& shape : kShapes) {
    const at::Tensor x = channels_last_randn(shape);
    ASSERT_TRUE(fusable_block_tail(x));
    const at::Tensor a = x.clone().requires_grad_(), b = x.clone().requires_grad_();
    const at::Tensor fused = relu_pool(a);
    const at::Tensor plain = torch::avg_pool2d(torch::relu(b), {2, 2}, {2, 2});
    ASSERT_EQ(fused.sizes(), plain.sizes());
    EXPECT_TRUE(fused.is_contiguous(kChannelsLast));
    EXPECT_TRUE(torch::allclose(fused, plain, 1e-6, 1e-6)) << c10::IntArrayRef(shape);
    const at::Tensor g = uneven_like(plain);
    (fused * g).sum().backward();
    (plain * g).sum().backward();
    EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-6, 1e-6)) << c10::IntArrayRef(shape);
  }
}

TEST(NormReluPool, BatchNormReluPoolIsLibTorchsTrainingBatchNormThenReluThenPool) {
  torch::manual_seed(2);
  for (const auto& shape : kShapes) {
    const int64_t channels = shape[1];
    SyncBatchNorm2d fused_norm(channels), plain_norm(channels);
    {
      torch::NoGradGuard no_grad;
      fused_norm->weight.uniform_(0.5, 1.5);
      fused_norm->bias.uniform_(-0.5, 0.5);
      plain_norm->weight.copy_(fused_norm->weight);
      plain_norm->bias.copy_(fused_norm->bias);
    }
    for (int step = 0; step < 2; ++step) {  // the running statistics' second update too
      const at::Tensor x = channels_last_randn(shape, 3.0, 2.0 + step);
      const at::Tensor a = x.clone().requires_grad_(), b = x.clone().requires_grad_();
      const at::Tensor fused = batch_norm_relu_pool(a, *fused_norm);
      const at::Tensor plain = torch::avg_pool2d(torch::relu(plain_norm->forward(b)), {2, 2}, {2, 2});
      EXPECT_TRUE(torch::allclose(fused, plain, 1e-5, 1e-5)) << c10::IntArrayRef(shape);
      const at::Tensor g = uneven_like(plain);
      (fused * g).sum().backward();
      (plain * g).sum().backward();
      EXPECT_TRUE(torch::allclose(a.grad(), b.grad(), 1e-4, 1e-5)) << c10::IntArrayRef(shape);
    }
    EXPECT_TRUE(torch::allclose(fused_norm->weight.grad(), plain_norm->weight.grad(), 1e-4, 1e-5)) << c10::IntArrayRef(shape);
    EXPECT_TRUE(torch::allclose(fused_norm->bias.grad(), plain_norm->bias.grad(), 1e-4, 1e-5)) << c10::IntArrayRef(shape);
    EXPECT_TRUE(torch::allclose(fused_norm->running_mean, plain_norm->running_mean, 1e-5, 1e-6)) << c10::IntArrayRef(shape);
    EXPECT_TRUE(torch::allclose(fused_norm->running_var, plain_norm->running_var, 1e-5, 1e-6)) << c10::IntArrayRef(shape);
    EXPECT_EQ(fused_norm->num_batches_tracked.item<int64_t>(), 2);
  }
}

TEST(NormReluPool, TheSameInputGivesTheSameBitsEveryTime) {
  torch::manual_seed(3);
  const at::Tensor x = channels_last_randn({16, 8, 14, 14}, 2.0, 1.0);
  std::vector<at::Tensor> outputs, grads;
  for (int run = 0; run < 2; ++run) {
    SyncBatchNorm2d norm(8);
    const at::Tensor a = x.clone().requires_grad_();
    const at::Tensor y = batch_norm_relu_pool(a, *norm);
    (y * uneven_like(y)).sum().backward();
    outputs.push_back(y.detach());
    grads.push_back(a.grad());
  }
  EXPECT_TRUE(torch::equal(outputs[0], outputs[1]));
  EXPECT_TRUE(torch::equal(grads[0], grads[1]));
}

TEST(NormReluPool, OnlyFloatChannelsLastMapsOfAtLeastTwoByTwoAreTaken) {
  EXPECT_TRUE(fusable_block_tail(channels_last_randn({2, 4, 2, 2})));
  EXPECT_TRUE(fusable_block_tail(torch::randn({2, 1, 4, 4})));  // one channel: either layout is NHWC
  EXPECT_FALSE(fusable_block_tail(torch::randn({2, 4, 4, 4})));  // NCHW
  EXPECT_FALSE(fusable_block_tail(channels_last_randn({2, 4, 1, 4})));
  EXPECT_FALSE(fusable_block_tail(torch::randn({2, 4, 4, 4}, torch::kDouble).contiguous(kChannelsLast)));
  EXPECT_FALSE(fusable_block_tail(at::Tensor()));
}

// The ConvNet with and without the fused tail: one training step's features, every parameter's
// gradient and the running statistics agree, and so do evaluation features after it.
TEST(NormReluPool, AConvNetTrainsTheSameWithTheFusedTail) {
  ConvNetOptions fused_options, plain_options;
  fused_options.widths = plain_options.widths = {8, 6, 4};
  plain_options.fused_tail = false;
  auto [fused, plain] = convnet_twins(fused_options, plain_options, ImageShape{1, 14, 14}, 4);
  const at::Tensor x = torch::randn({10, 1, 14, 14});
  ASSERT_TRUE(fusable_block_tail(fused->conv(0)->forward(to_channels_last(x))));  // the fused path is taken
  expect_twins_train_alike(fused, plain, x);
}
