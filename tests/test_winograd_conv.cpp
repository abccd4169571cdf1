// The Winograd convolution (models/winograd_conv.h) against LibTorch's direct one: output and
// every gradient agree to float rounding at square and odd-sided maps, in either input layout;
// repeats are bit-identical; only wide float CPU layers take the path; and a ConvNet whose wide
// blocks take it trains as the plain one does. Skipped where the build or the CPU has no
// Winograd implementation (no libdnnl-dev at configure time, or no AVX-512).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "convnet_twins.h"
#include "ssdd/models/convnet.h"
#include "ssdd/models/winograd_conv.h"

using namespace ssdd::models;

namespace {

constexpr auto kChannelsLast = at::MemoryFormat::ChannelsLast;

// Largest difference relative to the largest magnitude: Winograd's transforms round
// differently from the direct sum, by 1e-6 to 5e-6 of the largest value (measured).
double relative_gap(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

bool winograd_here() {
  return winograd_pays(torch::zeros({1, 64, 8, 8}), torch::zeros({128, 64, 3, 3}));
}

#define SKIP_WITHOUT_WINOGRAD()                                                                       \
  if (!winograd_here()) GTEST_SKIP() << "no Winograd convolution in this build or on this CPU "      \
                                        "(needs libdnnl-dev at configure time and AVX-512)"

struct Case {
  std::vector<int64_t> input;
  int64_t out;
  bool channels_last;
};

}  // namespace

TEST(WinogradConv, OutputAndEveryGradientAreLibTorchsConvolutionsToRounding) {
  SKIP_WITHOUT_WINOGRAD();
  torch::manual_seed(1);
  for (const Case& c : {Case{{4, 64, 8, 8}, 128, true}, Case{{2, 128, 16, 16}, 256, false},
                        Case{{3, 64, 11, 9}, 144, true}}) {
    const int64_t in = c.input[1];
    at::Tensor x = torch::randn(c.input);
    if (c.channels_last) x = x.contiguous(kChannelsLast);
    const at::Tensor w = torch::randn({c.out, in, 3, 3}) / std::sqrt(9.0 * static_cast<double>(in));
    const at::Tensor b = torch::randn({c.out});
    ASSERT_TRUE(winograd_pays(x, w)) << c10::IntArrayRef(c.input);
    std::vector<at::Tensor> grads[2];
    at::Tensor outputs[2];
    for (int winograd = 0; winograd < 2; ++winograd) {
      const at::Tensor xi = x.clone().requires_grad_(), wi = w.clone().requires_grad_();
      const at::Tensor bi = b.clone().requires_grad_();
      outputs[winograd] = winograd ? winograd_conv3x3(xi, wi, bi) : torch::conv2d(xi, wi, bi, 1, 1);
      const at::Tensor& y = outputs[winograd];
      (y * torch::arange(y.numel(), torch::kFloat).view(y.sizes()).sin()).sum().backward();
      grads[winograd] = {xi.grad(), wi.grad(), bi.grad()};
    }
    EXPECT_TRUE(outputs[1].is_contiguous(kChannelsLast));
    EXPECT_LT(relative_gap(outputs[1], outputs[0]), 1e-5) << c10::IntArrayRef(c.input);
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_LT(relative_gap(grads[1][k], grads[0][k]), 1e-5) << c10::IntArrayRef(c.input) << " gradient " << k;
    }
  }
}

TEST(WinogradConv, RepeatsAreBitIdenticalAndNoBiasIsAZeroOne) {
  SKIP_WITHOUT_WINOGRAD();
  torch::manual_seed(2);
  const at::Tensor x = torch::randn({2, 64, 12, 12}).contiguous(kChannelsLast).requires_grad_();
  const at::Tensor w = (torch::randn({128, 64, 3, 3}) * 0.05).requires_grad_();
  at::Tensor first = winograd_conv3x3(x, w, at::Tensor());
  first.sum().backward();
  const at::Tensor first_dx = x.grad().clone(), first_dw = w.grad().clone();
  x.grad().zero_();
  w.grad().zero_();
  const at::Tensor second = winograd_conv3x3(x, w, at::Tensor());
  second.sum().backward();
  EXPECT_TRUE(torch::equal(first, second));
  EXPECT_TRUE(torch::equal(first_dx, x.grad()));
  EXPECT_TRUE(torch::equal(first_dw, w.grad()));
  EXPECT_LT(relative_gap(first, torch::conv2d(x, w, {}, 1, 1)), 1e-5);
}

TEST(WinogradConv, OnlyWideFloatCpuLayersOfAtLeastEightByEightTakeThePath) {
  EXPECT_FALSE(winograd_pays(torch::zeros({1, 32, 16, 16}), torch::zeros({32, 32, 3, 3})));    // narrow
  EXPECT_FALSE(winograd_pays(torch::zeros({1, 64, 16, 16}), torch::zeros({64, 64, 3, 3})));    // 64 out
  EXPECT_FALSE(winograd_pays(torch::zeros({1, 64, 4, 4}), torch::zeros({128, 64, 3, 3})));     // small map
  EXPECT_FALSE(winograd_pays(torch::zeros({1, 64, 16, 16}), torch::zeros({128, 64, 5, 5})));   // 5x5
  const auto doubles = torch::kDouble;
  EXPECT_FALSE(winograd_pays(torch::zeros({1, 64, 16, 16}, doubles), torch::zeros({128, 64, 3, 3}, doubles)));
  EXPECT_FALSE(winograd_pays(at::Tensor(), torch::zeros({128, 64, 3, 3})));
  // The plain path is LibTorch's own, whatever the CPU.
  const at::Tensor x = torch::randn({1, 32, 8, 8}), w = torch::randn({32, 32, 3, 3}), b = torch::randn({32});
  EXPECT_TRUE(torch::equal(conv3x3(x, w, b), torch::conv2d(x, w, b, 1, 1)));
}

// ConvNet 64-128-128 on 3 x 16 x 16 images: block 2 (64 -> 128 at 8 x 8) takes the Winograd path,
// blocks 1 and 3 do not. One training step's gradients, the running statistics and evaluation
// features agree with the network whose convolutions are all LibTorch's.
TEST(WinogradConv, AConvNetTrainsTheSameWithWinogradInItsWideBlocks) {
  SKIP_WITHOUT_WINOGRAD();
  ConvNetOptions winograd_options, plain_options;
  winograd_options.widths = plain_options.widths = {64, 128, 128};
  plain_options.winograd = false;
  auto [fast, plain] = convnet_twins(winograd_options, plain_options, ImageShape{3, 16, 16}, 3);
  ASSERT_TRUE(winograd_pays(torch::zeros({6, 64, 8, 8}), fast->conv(1)->weight));
  expect_twins_train_alike(fast, plain, torch::randn({6, 3, 16, 16}));
}
