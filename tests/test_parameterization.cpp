#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/distill/parameterization.h"
#include "ssdd/io/tensor_archive.h"

using ssdd::distill::fit_pca;
using ssdd::distill::init_parameterized;
using ssdd::distill::ParameterizationOptions;
using ssdd::distill::ParameterizedSet;
using ssdd::distill::Pca;
using ssdd::distill::project;

namespace {

namespace F = torch::nn::functional;

at::Generator generator(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

torch::Tensor gaussian(std::vector<int64_t> shape, uint64_t seed) {
  auto g = generator(seed);
  return torch::randn(shape, g, torch::kFloat);
}

// n x D of rank r after centring (a random offset added to every row).
torch::Tensor low_rank(int64_t n, int64_t dim, int64_t r, uint64_t seed) {
  return gaussian({n, r}, seed).mm(gaussian({r, dim}, seed + 1)) + gaussian({1, dim}, seed + 2);
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

void expect_orthonormal_rows(const torch::Tensor& b, double tol = 1e-5) {
  const auto gram = b.flatten(1).mm(b.flatten(1).t());
  EXPECT_LT(max_abs(gram - torch::eye(b.size(0))), tol);
}

struct Pool {
  torch::Tensor images, reps, index;
};

// n images C x H x W and their n x d "representations".
Pool pool(int64_t n, int64_t c, int64_t hw, int64_t d) {
  return {gaussian({n, c, hw, hw}, 11), gaussian({n, d}, 12), torch::tensor({3, 7, 0, 11}, torch::kLong)};
}

}  // namespace

TEST(Pca, RowsAreOrthonormalInBothBranches) {
  expect_orthonormal_rows(fit_pca(gaussian({50, 20}, 1), 8).components);   // D x D covariance
  expect_orthonormal_rows(fit_pca(gaussian({10, 30}, 2), 6).components);   // n x n Gram
  // k = n: the centred data has rank n - 1, the last row is a filled-in direction.
  const auto full = fit_pca(gaussian({10, 30}, 3), 10);
  EXPECT_EQ(full.components.sizes(), (std::vector<int64_t>{10, 30}));
  expect_orthonormal_rows(full.components);
  EXPECT_EQ(full.mean.sizes(), (std::vector<int64_t>{1, 30}));
  EXPECT_EQ(full.components.scalar_type(), torch::kFloat);
}

TEST(Pca, ReconstructsLowRankDataExactly) {
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> cases{{20, 40, 5}, {60, 12, 4}};  // Gram, covariance
  for (auto [n, dim, r] : cases) {
    const auto x = low_rank(n, dim, r, 5);
    const Pca pca = fit_pca(x, r);
    const auto coeffs = project(x, pca);
    EXPECT_EQ(coeffs.sizes(), (std::vector<int64_t>{n, r}));
    EXPECT_LT(max_abs(coeffs.mm(pca.components) + pca.mean - x), 1e-4) << n << "x" << dim;
  }
}

TEST(Pca, VarianceOrderAndDeterministicSigns) {
  // Columns scaled 10, 9, ..., 1 (plus noise mixing by a random rotation): decreasing variance.
  const auto q = std::get<0>(at::linalg_qr(gaussian({10, 10}, 7).to(torch::kDouble))).to(torch::kFloat);
  const auto x = (gaussian({200, 10}, 8) * torch::arange(10, 0, -1, torch::kFloat)).mm(q);
  const Pca pca = fit_pca(x, 5);
  const auto var = project(x, pca).var(0);
  for (int64_t i = 0; i + 1 < 5; ++i) EXPECT_GT(var[i].item<float>(), var[i + 1].item<float>());
  // The largest-magnitude entry of each row is positive.
  const auto pick = pca.components.abs().argmax(1, true);
  EXPECT_TRUE((pca.components.gather(1, pick) > 0).all().item<bool>());
  // Same answer for the negated data and for shuffled rows: signs do not depend on the solver.
  EXPECT_LT(max_abs(fit_pca(-x, 5).components - pca.components), 1e-4);
  EXPECT_LT(max_abs(fit_pca(x.flip({0}), 5).components - pca.components), 1e-4);
  const auto wide = gaussian({8, 40}, 9);
  EXPECT_LT(max_abs(fit_pca(-wide, 5).components - fit_pca(wide, 5).components), 1e-4);
  EXPECT_TRUE(torch::equal(fit_pca(wide, 5).components, fit_pca(wide, 5).components));
}

TEST(Pca, RejectsTooManyComponents) {
  EXPECT_THROW(fit_pca(gaussian({10, 30}, 1), 11), ssdd::ConfigError);
  EXPECT_THROW(fit_pca(gaussian({50, 20}, 1), 21), ssdd::ConfigError);
  EXPECT_THROW(fit_pca(gaussian({50, 20}, 1), 0), ssdd::ConfigError);
  EXPECT_THROW(fit_pca(gaussian({5, 2, 2}, 1), 2), ssdd::ConfigError);
}

TEST(Parameterization, ShapesAndLeaves) {
  const Pool p = pool(12, 3, 8, 6);
  ParameterizationOptions init;
  init.image_bases = 10, init.rep_bases = 5, init.base_scale = 2;
  const ParameterizedSet s = init_parameterized(p.images, p.reps, p.index, init, 1);
  EXPECT_EQ(s.image_bases.sizes(), (std::vector<int64_t>{10, 3, 4, 4}));
  EXPECT_EQ(s.image_coeffs.sizes(), (std::vector<int64_t>{4, 10}));
  EXPECT_EQ(s.image_mean.sizes(), (std::vector<int64_t>{1, 3, 4, 4}));
  EXPECT_EQ(s.rep_bases.sizes(), (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(s.rep_coeffs.sizes(), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(s.rep_mean.sizes(), (std::vector<int64_t>{1, 6}));
  EXPECT_EQ(s.height, 8);
  EXPECT_EQ(s.width, 8);
  for (const auto& t : s.parameters()) {
    EXPECT_TRUE(t.is_leaf());
    EXPECT_TRUE(t.requires_grad());
    EXPECT_TRUE(t.is_contiguous());
    EXPECT_EQ(t.scalar_type(), torch::kFloat);
  }
  EXPECT_FALSE(s.image_mean.requires_grad());
  EXPECT_FALSE(s.rep_mean.requires_grad());
  EXPECT_EQ(s.decode_images().sizes(), (std::vector<int64_t>{4, 3, 8, 8}));
  EXPECT_EQ(s.decode_reps().sizes(), (std::vector<int64_t>{4, 6}));
  expect_orthonormal_rows(s.image_bases);
  expect_orthonormal_rows(s.rep_bases);
}

TEST(Parameterization, FullRankDecodesTheInitialImagesAndReps) {
  const Pool p = pool(12, 1, 4, 6);  // D = 16 > n = 12: centred rank 11
  ParameterizationOptions init;
  init.image_bases = 11, init.rep_bases = 6, init.base_scale = 1;
  const ParameterizedSet s = init_parameterized(p.images, p.reps, p.index, init, 1);
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs(s.decode_images() - p.images.index_select(0, p.index)), 1e-4);
  EXPECT_LT(max_abs(s.decode_reps() - p.reps.index_select(0, p.index)), 1e-4);
  // Coefficients of a row of reps map through reps_from_coeffs the same way.
  EXPECT_LT(max_abs(s.reps_from_coeffs(s.rep_coeffs) - s.decode_reps()), 1e-6);
}

TEST(Parameterization, LowResolutionBasesDecodeByBilinearUpsampling) {
  const Pool p = pool(12, 3, 8, 6);  // stored at 3x4x4 = 48 > 12: k_x = 12 is full rank
  ParameterizationOptions init;
  init.image_bases = 12, init.rep_bases = 6, init.base_scale = 2;
  const ParameterizedSet s = init_parameterized(p.images, p.reps, p.index, init, 1);
  torch::NoGradGuard no_grad;
  const auto low = F::avg_pool2d(p.images.index_select(0, p.index), F::AvgPool2dFuncOptions(2));
  const auto expected = F::interpolate(
      low, F::InterpolateFuncOptions().size(std::vector<int64_t>{8, 8}).mode(torch::kBilinear).align_corners(false));
  EXPECT_LT(max_abs(s.decode_images() - expected), 1e-4);

  init.base_scale = 3;  // 8 is not divisible by 3
  EXPECT_THROW(init_parameterized(p.images, p.reps, p.index, init, 1), ssdd::ConfigError);
  init.base_scale = 2;
  init.image_bases = 13;  // more than n
  EXPECT_THROW(init_parameterized(p.images, p.reps, p.index, init, 1), ssdd::ConfigError);
  init.image_bases = 4;
  EXPECT_THROW(init_parameterized(p.images, p.reps, torch::tensor({12}, torch::kLong), init, 1), ssdd::ConfigError);
}

TEST(Parameterization, GradientReachesBasesAndCoefficientsOnly) {
  const Pool p = pool(12, 3, 8, 6);
  ParameterizationOptions init;
  init.image_bases = 5, init.rep_bases = 3, init.base_scale = 2;
  const ParameterizedSet s = init_parameterized(p.images, p.reps, p.index, init, 1);
  (s.decode_images().pow(2).sum() + s.decode_reps().pow(2).sum()).backward();
  for (const auto& t : s.parameters()) {
    ASSERT_TRUE(t.grad().defined());
    EXPECT_GT(max_abs(t.grad()), 0.0);
  }
  EXPECT_FALSE(s.image_mean.grad().defined());
  EXPECT_FALSE(s.rep_mean.grad().defined());
}

TEST(Parameterization, RandomBasesAreOrthonormalAndSeeded) {
  const Pool p = pool(12, 3, 8, 6);
  ParameterizationOptions init;
  init.image_bases = 20, init.rep_bases = 4, init.base_scale = 2, init.random_bases = true;  // 20 > n is fine here
  const ParameterizedSet a = init_parameterized(p.images, p.reps, p.index, init, 7);
  const ParameterizedSet b = init_parameterized(p.images, p.reps, p.index, init, 7);
  const ParameterizedSet c = init_parameterized(p.images, p.reps, p.index, init, 8);
  expect_orthonormal_rows(a.image_bases);
  expect_orthonormal_rows(a.rep_bases);
  EXPECT_TRUE(torch::equal(a.image_bases, b.image_bases));
  EXPECT_FALSE(torch::allclose(a.image_bases, c.image_bases));
  // Means as for PCA; coefficients are the projections onto the random bases.
  ParameterizationOptions pca_init = init;
  pca_init.random_bases = false;
  pca_init.image_bases = 4;
  const ParameterizedSet pca = init_parameterized(p.images, p.reps, p.index, pca_init, 7);
  EXPECT_LT(max_abs(a.image_mean - pca.image_mean), 1e-6);
  EXPECT_LT(max_abs(a.rep_mean - pca.rep_mean), 1e-6);
  const auto rows = p.reps.index_select(0, p.index) - a.rep_mean;
  EXPECT_LT(max_abs(a.rep_coeffs - rows.mm(a.rep_bases.t())), 1e-5);
  init.image_bases = 49;  // more than the stored dimension 3*4*4
  EXPECT_THROW(init_parameterized(p.images, p.reps, p.index, init, 7), ssdd::ConfigError);
}

TEST(Parameterization, TensorsRoundTrip) {
  const Pool p = pool(12, 3, 8, 6);
  ParameterizationOptions init;
  init.image_bases = 5, init.rep_bases = 3, init.base_scale = 2;
  const ParameterizedSet s = init_parameterized(p.images, p.reps, p.index, init, 1);
  const auto bytes = ssdd::io::tensors_to_bytes(s.to_tensors());
  const auto t = ssdd::io::tensors_from_bytes(bytes, "set.pt");
  EXPECT_EQ(t.size(), 6u);
  const ParameterizedSet r = ParameterizedSet::from_tensors(t, 8, 8, "set.pt");
  EXPECT_EQ(r.height, 8);
  EXPECT_EQ(r.width, 8);
  const auto a = s.to_tensors(), b = r.to_tensors();
  for (const auto& [name, tensor] : a) EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  for (const auto& x : r.parameters()) EXPECT_TRUE(x.requires_grad() && x.is_leaf());
  EXPECT_FALSE(r.image_mean.requires_grad());
  EXPECT_TRUE(torch::equal(r.decode_images(), s.decode_images()));
}

TEST(Parameterization, FromTensorsValidates) {
  const Pool p = pool(12, 3, 8, 6);
  ParameterizationOptions init;
  init.image_bases = 5, init.rep_bases = 3, init.base_scale = 2;
  const auto good = init_parameterized(p.images, p.reps, p.index, init, 1).to_tensors();
  const auto expect_data_error = [](const ssdd::io::TensorMap& t, const std::string& needle) {
    try {
      ParameterizedSet::from_tensors(t, 8, 8, "distilled/set.pt");
      ADD_FAILURE() << "accepted; expected an error about " << needle;
    } catch (const ssdd::DataError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("distilled/set.pt"), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
  };
  auto t = good;
  t["rep_coeffs"] = torch::zeros({4, 4});  // k_y is 3
  expect_data_error(t, "[4, 4]");
  t = good;
  t["image_mean"] = torch::zeros({1, 3, 8, 8});
  expect_data_error(t, "image_mean");
  t = good;
  t["image_coeffs"] = torch::zeros({5, 5});  // 5 images but 4 rep coefficient rows
  expect_data_error(t, "rep_coeffs");
  t = good;
  t.erase("rep_mean");
  expect_data_error(t, "rep_mean");
  EXPECT_THROW(ParameterizedSet::from_tensors(good, 2, 2, "x"), ssdd::DataError);  // bases 4x4 > 2x2
}
