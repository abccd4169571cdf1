// Two ConvNets that start from the same weights but take different code paths (a fused or
// faster kernel against LibTorch's plain ops), and the check that they train alike.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssdd/models/convnet.h"

// The same seed before each, so both draw the same initial weights.
inline std::pair<ssdd::models::ConvNet, ssdd::models::ConvNet> convnet_twins(
    const ssdd::models::ConvNetOptions& fast, const ssdd::models::ConvNetOptions& plain,
    const ssdd::models::ImageShape& shape, uint64_t seed) {
  torch::manual_seed(seed);
  ssdd::models::ConvNet a(fast, shape);
  torch::manual_seed(seed);
  ssdd::models::ConvNet b(plain, shape);
  return {a, b};
}

// Largest difference over max(1, the largest magnitude of `plain`): a bias gradient ahead of a
// batch norm is zero but for rounding, so it is held to an absolute bound instead.
inline double gap_to(const at::Tensor& fast, const at::Tensor& plain) {
  return (fast - plain).abs().max().item<double>() / std::max(1.0, plain.abs().max().item<double>());
}

// One training step of each on x (the features weighted unevenly, so a misplaced value shows):
// every parameter's gradient within `gradient_gap`, the running statistics within float
// rounding, and evaluation features after the step within 1e-5.
inline void expect_twins_train_alike(ssdd::models::ConvNet& fast, ssdd::models::ConvNet& plain, const at::Tensor& x,
                                     double gradient_gap = 1e-4) {
  for (auto* net : {&fast, &plain}) {
    (*net)->train();
    const at::Tensor y = (*net)->features(x);
    (y * torch::arange(y.numel(), torch::kFloat).view(y.sizes()).sin()).sum().backward();
  }
  const auto fp = fast->named_parameters(), pp = plain->named_parameters();
  for (const auto& p : fp) EXPECT_LT(gap_to(p.value().grad(), pp[p.key()].grad()), gradient_gap) << p.key();
  const auto fb = fast->named_buffers(), pb = plain->named_buffers();
  for (const auto& b : fb) {
    EXPECT_TRUE(torch::allclose(b.value().to(torch::kDouble), pb[b.key()].to(torch::kDouble), 1e-5, 1e-6)) << b.key();
  }
  fast->eval();
  plain->eval();
  torch::NoGradGuard no_grad;
  EXPECT_LT(gap_to(fast->features(x), plain->features(x)), 1e-5);
}
