// oneDNN's sgemm (models/onednn_sgemm.h), which the benchmarks time beside torch::mm for the
// machine's fp32 rate: the same product as torch::mm at square and oblong shapes, and the
// shapes and layouts it cannot take refused. Skipped where the build has no oneDNN.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssdd/models/onednn_sgemm.h"

using ssdd::models::onednn_sgemm;

namespace {

#define SKIP_WITHOUT_ONEDNN()                                     \
  if (!ssdd::models::onednn_sgemm_available()) GTEST_SKIP()       \
      << "this build links no oneDNN (libdnnl-dev at configure time)"

}  // namespace

TEST(OnednnSgemm, MatchesTorchMmAtSquareAndOblongShapes) {
  SKIP_WITHOUT_ONEDNN();
  torch::manual_seed(3);
  for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{64, 64, 64}, {37, 200, 5}, {1, 513, 130}}) {
    const at::Tensor a = torch::randn({m, k}), b = torch::randn({k, n});
    at::Tensor c = torch::full({m, n}, 7.0f);  // overwritten, not accumulated into
    onednn_sgemm(a, b, c);
    const at::Tensor expected = torch::mm(a, b);
    const double gap = (c - expected).abs().max().item<double>() / expected.abs().max().item<double>();
    EXPECT_LT(gap, 1e-5) << m << "x" << k << " @ " << k << "x" << n;
  }
}

TEST(OnednnSgemm, RefusesMismatchedShapesAndStridedOrNonFloatInput) {
  SKIP_WITHOUT_ONEDNN();
  const at::Tensor a = torch::randn({4, 6}), b = torch::randn({6, 3});
  at::Tensor c = torch::empty({4, 3});
  at::Tensor wrong_out = torch::empty({3, 4});
  EXPECT_THROW(onednn_sgemm(a, torch::randn({5, 3}), c), c10::Error);
  EXPECT_THROW(onednn_sgemm(a, b, wrong_out), c10::Error);
  EXPECT_THROW(onednn_sgemm(torch::randn({6, 4}).t(), b, c), c10::Error);  // a transposed view
  EXPECT_THROW(onednn_sgemm(a.to(torch::kDouble), b, c), c10::Error);
}

TEST(OnednnSgemm, ProductReadsTransposedOperandsInPlace) {
  SKIP_WITHOUT_ONEDNN();
  torch::manual_seed(4);
  const at::Tensor x = torch::randn({30, 17}), y = torch::randn({30, 9}), z = torch::randn({17, 9});
  // x^T y, x x^T and (y^T)(y): every mix of plain and transposed operands
  for (auto [a, b] : {std::pair{x.t(), y}, std::pair{x, x.t()}, std::pair{y.t(), y}, std::pair{x, z}}) {
    ASSERT_TRUE(ssdd::models::onednn_mm_takes(a, b));
    const at::Tensor expected = torch::mm(a, b), got = ssdd::models::onednn_mm(a, b);
    EXPECT_TRUE(got.is_contiguous());
    EXPECT_LT((got - expected).abs().max().item<double>() / expected.abs().max().item<double>(), 1e-5);
  }
}

TEST(OnednnSgemm, TakesNeitherStridedSlicesNorDoublesNorMismatchedShapes) {
  SKIP_WITHOUT_ONEDNN();
  const at::Tensor a = torch::randn({8, 6}), b = torch::randn({6, 4});
  EXPECT_TRUE(ssdd::models::onednn_mm_takes(a, b));
  EXPECT_FALSE(ssdd::models::onednn_mm_takes(a.slice(1, 0, 6, 2), b.slice(0, 0, 3)));  // every other column
  EXPECT_FALSE(ssdd::models::onednn_mm_takes(a.to(torch::kDouble), b.to(torch::kDouble)));
  EXPECT_FALSE(ssdd::models::onednn_mm_takes(a, a));
  EXPECT_THROW(ssdd::models::onednn_mm(a, a), c10::Error);
  // Empty inner size: zeros, as torch::mm gives
  EXPECT_TRUE(ssdd::models::onednn_mm(torch::randn({3, 0}), torch::randn({0, 2})).eq(0).all().item<bool>());
}
