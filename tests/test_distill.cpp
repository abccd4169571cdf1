#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/hash.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/distiller.h"
#include "ssdd/distill/krr.h"
#include "ssdd/distill/parameterization.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/checkpoint.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;

TEST(Krr, MatchesADirectDoublePrecisionSolve) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto fs = torch::randn({12, 20}, gen, torch::kDouble);
  const auto ft = torch::randn({30, 20}, gen, torch::kDouble);
  const auto ys = torch::randn({12, 5}, gen, torch::kDouble);
  const double ridge = 1e-3;
  const auto got = distill::krr_predict(fs, ft, ys, ridge);
  // Direct: append the bias column, build the kernels, solve with a general solver.
  const auto fs1 = torch::cat({fs, torch::ones({12, 1}, torch::kDouble)}, 1);
  const auto ft1 = torch::cat({ft, torch::ones({30, 1}, torch::kDouble)}, 1);
  const auto kss = fs1.matmul(fs1.t());
  const auto a = kss + ridge * kss.trace() * torch::eye(12, torch::kDouble);
  const auto want = ft1.matmul(fs1.t()).matmul(torch::linalg_solve(a, ys));
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-9);
  // float32 agrees to float precision
  const auto got32 = distill::krr_predict(fs.to(torch::kFloat), ft.to(torch::kFloat), ys.to(torch::kFloat), ridge);
  EXPECT_LT((got32.to(torch::kDouble) - want).abs().max().item<double>(), 1e-3);
}

TEST(Krr, SingularKernelIsANumericsError) {
  const auto row = torch::randn({1, 6});
  const auto fs = row.repeat({4, 1});  // duplicate distilled images: rank 1
  EXPECT_THROW(distill::krr_predict(fs, torch::randn({3, 6}), torch::randn({4, 2}), 0.0, 7), NumericsError);
}

// The outer loss's gradient with respect to the image coefficients, against central
// finite differences, in double precision through a tiny ConvNet (eval-mode BN).
TEST(OuterLoss, GradientMatchesFiniteDifferences) {
  torch::manual_seed(4);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  auto net = models::make_encoder_from_spec("convnet:3-4", {1, 8, 8});
  net->to(torch::kDouble);
  net->eval();
  const auto real = torch::randn({10, 1, 8, 8}, gen, torch::kDouble);
  const auto real_y = torch::randn({10, 3}, gen, torch::kDouble);
  distill::ParameterizationOptions init;
  init.image_bases = 5;
  init.rep_bases = 2;
  init.base_scale = 2;
  auto p = distill::init_parameterized(real.to(torch::kFloat), real_y.to(torch::kFloat),
                                       torch::arange(4, torch::kLong), init, 0);
  for (auto* t : {&p.image_bases, &p.image_coeffs, &p.image_mean, &p.rep_bases, &p.rep_coeffs, &p.rep_mean})
    *t = t->detach().to(torch::kDouble);
  p.image_coeffs.requires_grad_(true);
  auto loss_fn = [&] {
    const auto fs = net->features(p.decode_images());
    const auto ft = net->features(real);
    // A tiny ridge: lambda is held constant in the gradient (SPEC 2), so with a large
    // ridge the finite differences would also see lambda move with the images.
    return torch::mse_loss(distill::krr_predict(fs, ft, p.decode_reps(), 1e-9), real_y);
  };
  const auto loss = loss_fn();
  const auto grad = torch::autograd::grad({loss}, {p.image_coeffs})[0];
  torch::NoGradGuard no_grad;
  const double h = 1e-6;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t k = 0; k < 5; k += 2) {
      auto c = p.image_coeffs[i][k];
      const double v = c.item<double>();
      c.fill_(v + h);
      const double up = loss_fn().item<double>();
      c.fill_(v - h);
      const double down = loss_fn().item<double>();
      c.fill_(v);
      const double fd = (up - down) / (2 * h);
      EXPECT_NEAR(grad[i][k].item<double>(), fd, 1e-6 + 1e-4 * std::abs(fd)) << i << "," << k;
    }
}

namespace {

// A tiny teacher on tiny data, trained once for all distillation tests.
class DistillRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dirs_ = new Dirs;
  }
  static void TearDownTestSuite() { delete dirs_; }

  static distill::DistillConfig config(const std::string& method) { return tiny_distill_config(*dirs_, method); }
  using Dirs = TinyTeacher;
  static Dirs* dirs_;
};
DistillRun::Dirs* DistillRun::dirs_ = nullptr;

double mean_of(const std::vector<double>& v, size_t begin, size_t end) {
  double s = 0;
  for (size_t i = begin; i < end; ++i) s += v[i];
  return s / static_cast<double>(end - begin);
}

}  // namespace

TEST_F(DistillRun, BothMethodsLowerTheOuterLossAndWriteEveryOutput) {
  for (const std::string method : {"krrst", "ours"}) {
    TempDir out;
    const auto result = distill::run_distill(config(method), out.path(), false);
    ASSERT_EQ(result.loss.size(), 40u) << method;
    EXPECT_LT(mean_of(result.loss, 30, 40), mean_of(result.loss, 0, 10)) << method;
    for (const char* f : {"distilled.pt", "config.json", "metrics.json", "loss.csv", "loss.svg", "images.png", "log"})
      EXPECT_TRUE(std::filesystem::exists(out.path() + "/" + f)) << method << " " << f;
    auto set = distill::DistilledSet::load(out.path() + "/distilled.pt");
    EXPECT_LE(set.storage().image_equivalents(), method == "ours" ? 10.0 : 10.0 * (1 + 16.0 / 256));
    EXPECT_EQ(set.meta["method"], method);
    const auto x = set.view_images();
    const auto y = set.view_targets();
    EXPECT_EQ(x.size(0), y.size(0));
    EXPECT_EQ(x.size(0), set.size() * (method == "ours" ? 4 : 1));
    EXPECT_EQ(y.size(1), 16);  // the teacher's dimension
    if (method == "ours") {
      EXPECT_GT(set.size(), 10);  // parameterization buys more images than N
    }
  }
}

TEST_F(DistillRun, RefusesABudgetTooSmallForTheBases) {
  TempDir out;
  auto c = config("ours");
  c.budget = 1;
  c.parameterization.image_bases = 64;
  EXPECT_THROW(distill::run_distill(c, out.path(), false), ConfigError);
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/distilled.pt"));
}

TEST_F(DistillRun, ResumeAfterAKillEqualsTheUninterruptedRun) {
  const std::string cli = SSDD_CLI_PATH;
  if (cli.empty()) GTEST_SKIP() << "the ssdd executable is not built";
  TempDir full, cut;
  auto c = config("ours");
  c.iterations = 60;
  c.checkpoint_every = 10;
  distill::run_distill(c, full.path(), false);
  // The same configuration through the CLI, SIGKILLed once its first checkpoint is on
  // disk, then resumed.
  io::write_json_file(cut.path() + "/run.json", c.to_json());
  const std::string args = " distill --config " + cut.path() + "/run.json --out " + cut.path() + "/out";
  const std::string ckpt = cut.path() + "/out/checkpoints/checkpoint.ckpt";
  kill_when_file_appears(cli + args, ckpt);
  ASSERT_TRUE(std::filesystem::exists(ckpt));
  ASSERT_FALSE(std::filesystem::exists(cut.path() + "/out/distilled.pt")) << "the run ended before the kill";
  ASSERT_EQ(std::system((cli + args + " --resume >/dev/null 2>&1").c_str()), 0);
  expect_same_tensors(full.path() + "/distilled.pt", cut.path() + "/out/distilled.pt");
}

TEST_F(DistillRun, NoParameterizationAblationStoresFreeImagesWithinTheBudget) {
  TempDir out;
  auto c = config("ours");
  c.parameterization.enabled = false;
  c.approximation.fit = distill::ApproxFit::joint;  // for the re-fit check at the end
  const auto result = distill::run_distill(c, out.path(), false);
  EXPECT_LT(mean_of(result.loss, 30, 40), mean_of(result.loss, 0, 10));
  auto set = distill::DistilledSet::load(out.path() + "/distilled.pt");
  EXPECT_FALSE(set.parameterized());
  ASSERT_TRUE(set.approx());
  // 16x16 images (256 floats), d = 16, three q_t of 16 -> 4 -> 16 (148 floats each):
  // budget 10 = 2560 floats, (2560 - 3*148) / (256 + 16) = 7.8 -> 7 images.
  EXPECT_EQ(set.size(), 7);
  EXPECT_EQ(set.storage().total_floats(), 7 * 272 + 444);
  const auto y = set.view_targets();
  EXPECT_EQ(y.size(0), 4 * 7);
  EXPECT_EQ(y.size(1), 16);
  // The re-fitted q_t predict the teacher's representation of a rotated image better
  // than the unrotated target does.
  torch::NoGradGuard no_grad;
  const auto t = teacher::load_teacher(dirs_->teacher.path(), torch::kCPU);
  const auto rotated = t.encoder->features(data::apply_view(set.images(), set.view_list()[1]));
  EXPECT_LT(torch::mse_loss(y.slice(0, 7, 14), rotated).item<double>(),
            torch::mse_loss(y.slice(0, 0, 7), rotated).item<double>());
}

TEST_F(DistillRun, RandomAugmentationAblationDrawsOneViewPerImage) {
  TempDir predefined, random;
  auto c = config("ours");
  c.iterations = 20;
  distill::run_distill(c, predefined.path(), false);
  c.augmentation = distill::Augmentation::random;
  const auto result = distill::run_distill(c, random.path(), false);
  for (double l : result.loss) EXPECT_TRUE(std::isfinite(l));
  auto a = distill::DistilledSet::load(predefined.path() + "/distilled.pt");
  auto b = distill::DistilledSet::load(random.path() + "/distilled.pt");
  // Same storage, a different optimisation path.
  EXPECT_EQ(a.size(), b.size());
  EXPECT_EQ(a.storage().total_floats(), b.storage().total_floats());
  EXPECT_FALSE(torch::allclose(a.images(), b.images()));
  nlohmann::json bad = c.to_json();  // an unknown augmentation is refused where it is read
  bad["augmentation"] = "sometimes";
  EXPECT_THROW(distill::DistillConfig::from_json(bad), ConfigError);
}

TEST(DistillConfig, AblationOptionsChangeTheHashOnlyWhenSet) {
  auto c = distill::distill_preset("cpu");
  const std::string base = c.hash();
  // Options at their defaults are left out of the hash, so runs made before the options
  // existed keep their hashes (and their cached stages).
  nlohmann::json j = c.to_json();
  for (const char* k : {"teacher", "threads", "device", "data_dir", "checkpoint_every", "parameterization", "augmentation",
                        "krr_precision", "count_targets"})
    j.erase(k);
  EXPECT_EQ(base, hash_hex(j.dump()));
  // The teacher counts by its id, not its folder: a moved cache keeps the hash.
  c.teacher = "/elsewhere/teachers/fashion-mnist-0123";
  EXPECT_EQ(c.hash(), base);
  c.parameterization.enabled = false;
  EXPECT_NE(c.hash(), base);
  c.parameterization.enabled = true;
  c.augmentation = distill::Augmentation::random;
  EXPECT_NE(c.hash(), base);
  c.augmentation = distill::Augmentation::predefined;
  // Sets made before approx_fit existed were "joint" and hashed without it.
  c.approximation.fit = distill::ApproxFit::joint;
  nlohmann::json joint = c.to_json();
  for (const char* k : {"teacher", "threads", "device", "data_dir", "checkpoint_every", "parameterization", "augmentation",
                        "krr_precision", "approx_fit", "count_targets"})
    joint.erase(k);
  EXPECT_EQ(c.hash(), hash_hex(joint.dump()));
  EXPECT_NE(c.hash(), base);
  // krrst ignores it.
  c.method = distill::Method::krrst;
  const std::string krrst = c.hash();
  c.approximation.fit = distill::ApproxFit::after;
  EXPECT_EQ(c.hash(), krrst);
}

TEST(DistillConfig, StorageEqualKrrstCountsItsTargetsAgainstTheBudget) {
  distill::DistillConfig c;
  c.method = distill::Method::krrst;
  c.budget = 100;
  const std::string plain = c.hash();
  EXPECT_EQ(distill::distilled_images(c, {3, 32, 32}, 128), 100);  // KRR-ST's count: images only
  c.count_targets = true;
  EXPECT_EQ(distill::distilled_images(c, {3, 32, 32}, 128), 96);   // 96 x 3200 <= 307200 < 97 x 3200
  EXPECT_EQ(distill::distilled_images(c, {1, 28, 28}, 256), 75);   // 75 x 1040 <= 78400 < 76 x 1040
  EXPECT_NE(c.hash(), plain);
  c.budget = 1;
  EXPECT_THROW(distill::distilled_images(c, {1, 4, 4}, 256), ConfigError);
  c.method = distill::Method::ours;
  EXPECT_THROW(c.validate("test"), ConfigError);  // ours counts every float anyway
}

TEST_F(DistillRun, StoredTargetsAblationRoundTripsThroughItsFile) {
  TempDir out;
  auto c = config("ours");
  c.approximation.enabled = false;
  c.iterations = 10;
  distill::run_distill(c, out.path(), false);
  auto set = distill::DistilledSet::load(out.path() + "/distilled.pt");
  EXPECT_TRUE(set.parameterized());
  EXPECT_FALSE(set.approx());
  const int64_t m = set.size();
  EXPECT_EQ(set.param()->rep_coeffs.size(0), 4 * m);  // every rotation's targets stored
  EXPECT_EQ(set.view_targets().size(0), 4 * m);
  EXPECT_LE(set.storage().image_equivalents(), 10.0);
}

TEST_F(DistillRun, ApproxFitAfterShipsNetworksFittedToTheLearnedViewTargets) {
  TempDir joint, after, free_images;
  auto c = config("ours");
  c.iterations = 10;
  c.approximation.fit = distill::ApproxFit::joint;
  distill::run_distill(c, joint.path(), false);
  c.approximation.fit = distill::ApproxFit::after;
  distill::run_distill(c, after.path(), false);
  auto a = distill::DistilledSet::load(joint.path() + "/distilled.pt");
  auto b = distill::DistilledSet::load(after.path() + "/distilled.pt");
  {
    // joint: after the re-fit (SPEC 5 iii) q_t predicts the teacher's representation of a
    // rotated distilled image better than "no shift" does.
    torch::NoGradGuard no_grad;
    const auto t = teacher::load_teacher(dirs_->teacher.path(), torch::kCPU);
    const auto y = a.view_targets();
    const int64_t m = a.size();
    const auto rotated = t.encoder->features(data::apply_view(a.images(), a.view_list()[1]));
    EXPECT_LT(torch::mse_loss(y.slice(0, m, 2 * m), rotated).item<double>(),
              torch::mse_loss(y.slice(0, 0, m), rotated).item<double>());
  }
  // The same storage: the identity's coefficients and the networks, not every view's.
  ASSERT_TRUE(b.approx());
  const int64_t m = b.size();
  EXPECT_EQ(m, a.size());
  EXPECT_EQ(b.param()->rep_coeffs.size(0), m);
  EXPECT_EQ(b.storage().total_floats(), a.storage().total_floats());
  EXPECT_EQ(b.view_targets().size(0), 4 * m);
  // The last checkpoint holds the learned targets of every view (4m rows of k_y = 4): the
  // shipped coefficients are their identity block, and each q_t predicts its view's block
  // better than "no shift" does.
  const auto ckpt = train::load_checkpoint(after.path() + "/checkpoints");
  ASSERT_TRUE(ckpt);
  at::Tensor learned;
  for (const auto& [name, t] : ckpt->tensors)
    if (name.rfind("set.", 0) == 0 && t.dim() == 2 && t.size(0) == 4 * m && t.size(1) == 4) learned = t;
  ASSERT_TRUE(learned.defined());
  {
    torch::NoGradGuard no_grad;
    const at::Tensor identity = b.param()->rep_coeffs;
    EXPECT_TRUE(torch::equal(identity, learned.slice(0, 0, m)));
    for (int64_t v = 1; v < 4; ++v) {
      const at::Tensor truth = learned.slice(0, v * m, (v + 1) * m);
      EXPECT_LT(torch::mse_loss(b.approx()->forward(identity, v), truth).item<double>(),
                torch::mse_loss(identity, truth).item<double>())
          << "view " << v;
    }
  }
  EXPECT_NE(io::read_file(after.path() + "/log").find("fitted to the"), std::string::npos);
  // Without parameterization the networks act on the targets themselves (explicit form).
  c.parameterization.enabled = false;
  distill::run_distill(c, free_images.path(), false);
  auto f = distill::DistilledSet::load(free_images.path() + "/distilled.pt");
  ASSERT_TRUE(f.approx());
  EXPECT_FALSE(f.parameterized());
  EXPECT_EQ(f.size(), 7);  // as NoParameterizationAblationStoresFreeImagesWithinTheBudget
  EXPECT_EQ(f.view_targets().size(0), 4 * 7);
  c.parameterization.enabled = true;
  nlohmann::json bad = c.to_json();  // an unknown fit is refused where it is read
  bad["approx_fit"] = "later";
  EXPECT_THROW(distill::DistillConfig::from_json(bad), ConfigError);
}

// The closed-form backward of krr_predict against autograd through the plain formula
// (bias columns, kernels, a general solve), in double precision, for every input.
TEST(Krr, ClosedFormGradientMatchesAutograd) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  for (const auto& [s, r] : std::vector<std::pair<int64_t, int64_t>>{{12, 30}, {40, 6}}) {  // both product orders
    const auto fs = torch::randn({s, 9}, gen, torch::kDouble).requires_grad_(true);
    const auto ft = torch::randn({r, 9}, gen, torch::kDouble).requires_grad_(true);
    const auto ys = torch::randn({s, 4}, gen, torch::kDouble).requires_grad_(true);
    const auto weights = torch::randn({r, 4}, gen, torch::kDouble);
    const double ridge = 1e-2;
    const auto got = torch::autograd::grad({(distill::krr_predict(fs, ft, ys, ridge) * weights).sum()}, {fs, ft, ys});
    auto plain = [&] {
      const auto fs1 = distill::with_bias_column(fs), ft1 = distill::with_bias_column(ft);
      const auto kss = fs1.matmul(fs1.t());
      const auto a = kss + ridge * kss.detach().trace() * torch::eye(s, torch::kDouble);
      return ft1.matmul(fs1.t()).matmul(torch::linalg_solve(a, ys));
    };
    const auto want = torch::autograd::grad({(plain() * weights).sum()}, {fs, ft, ys});
    for (size_t i = 0; i < 3; ++i)
      EXPECT_LT((got[i] - want[i]).abs().max().item<double>(), 1e-9 * (1 + want[i].abs().max().item<double>()))
          << "input " << i << ", s " << s;
  }
}

TEST(DistilledSetFile, MetadataOfTheWrongTypeIsADataError) {
  // "views" as a number escaped as a JSON type error (found by fuzz_distilled_set).
  TempDir dir;
  const std::string path = dir.path() + "/set.pt";
  for (const char* meta : {R"({"form": "explicit", "views": 5})", R"({"form": 3})", R"([1, 2])"}) {
    io::save_tensors(path, {{"images", torch::zeros({2, 1, 4, 4})},
                            {"targets", torch::zeros({2, 3})},
                            {"__meta__", io::text_to_tensor(meta)}});
    EXPECT_THROW(distill::DistilledSet::load(path), DataError) << meta;
  }
}

// Issue 23: kernel health.
TEST(Krr, ConditionEstimateIsExactForADiagonalKernelAndALowerBoundOtherwise) {
  // A diagonal kernel: its factor's diagonal is the square roots, cond = 9 / 0.25.
  const auto diagonal = torch::diag(torch::tensor({4.0, 1.0, 0.25, 9.0}, torch::kDouble));
  const auto diag_factor = torch::diag(torch::tensor({2.0, 1.0, 0.5, 3.0}, torch::kDouble));
  const auto exact = distill::condition_estimate(diagonal, diag_factor);
  EXPECT_EQ(exact.scalar_type(), torch::kDouble);
  EXPECT_NEAR(exact.item<double>(), 36.0, 1e-12);
  // A known triangular factor: the estimate lies between (max L_ii / min L_ii)^2 and the
  // true condition number.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto l = torch::randn({30, 30}, gen, torch::kDouble).tril(-1) +
                 torch::diag(torch::linspace(0.1, 3.0, 30, torch::kDouble));
  const auto a = l.matmul(l.t());
  const double estimate = distill::condition_estimate(a, l).item<double>();
  const auto eigen = torch::linalg_eigvalsh(a);
  EXPECT_GE(estimate, 30.0 * 30.0 * (1 - 1e-12));
  EXPECT_LE(estimate, (eigen.max() / eigen.min()).item<double>());
}

namespace {
// Positive (ReLU-like) features of `rows` x `features`, float32.
at::Tensor relu_features(int64_t rows, int64_t features, at::Generator& gen) {
  return torch::relu(torch::randn({rows, features}, gen) + 0.3);
}
}  // namespace

TEST(Krr, Float64AgreesWithFloat32WhenWellConditionedAndHelpsWhenRankDeficient) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(6);
  for (const auto& [rows, features] : std::vector<std::pair<int64_t, int64_t>>{{20, 60}, {300, 40}}) {
    SCOPED_TRACE(std::to_string(rows) + " rows, " + std::to_string(features) + " features");
    const auto fs = relu_features(rows, features, gen), ft = relu_features(50, features, gen);
    const auto ys = torch::randn({rows, 6}, gen);
    distill::KernelHealth h32, h64;
    distill::KrrOptions options;
    options.ridge = rows > features ? 1e-6 : 1e-2;
    options.health = &h32;
    const auto p32 = distill::krr_predict(fs, ft, ys, options);
    options.float64 = true;
    options.health = &h64;
    const auto p64 = distill::krr_predict(fs, ft, ys, options);
    EXPECT_EQ(p64.scalar_type(), torch::kFloat);  // cast back to the features' type
    // The reference: the same float32 inputs, solved in double by a general solver.
    const auto f1 = distill::with_bias_column(fs.to(torch::kDouble));
    const auto kss = f1.matmul(f1.t());
    const auto want = distill::with_bias_column(ft.to(torch::kDouble))
                          .matmul(f1.t())
                          .matmul(torch::linalg_solve(kss + options.ridge * kss.trace() * torch::eye(rows, torch::kDouble),
                                                      ys.to(torch::kDouble)));
    const double scale = want.abs().max().item<double>();
    const double error32 = (p32.to(torch::kDouble) - want).abs().max().item<double>() / scale;
    const double error64 = (p64.to(torch::kDouble) - want).abs().max().item<double>() / scale;
    EXPECT_LT(error64, 1e-6);
    if (rows < features) {
      EXPECT_LT(error32, 1e-4);
    } else {
      EXPECT_GT(error32, 100 * error64);  // float32 loses digits to the ridge-sized pivots
    }
    for (const auto* h : {&h32, &h64}) {
      EXPECT_EQ(h->rows, rows);
      EXPECT_EQ(h->features, features + 1);
      EXPECT_EQ(h->condition.scalar_type(), torch::kDouble);
    }
    EXPECT_NEAR(h32.condition.item<double>() / h64.condition.item<double>(), 1.0, 0.1);
    EXPECT_GT(h64.condition.item<double>(), rows > features ? 1e3 : 1.0);
  }
}

// The float64 path's closed-form gradient, reaching float32 features through the casts,
// against autograd through the plain formula in double.
TEST(Krr, Float64ClosedFormGradientMatchesAutograd) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(8);
  const int64_t s = 15, r = 25;
  const auto fs = torch::randn({s, 9}, gen).requires_grad_(true);
  const auto ft = torch::randn({r, 9}, gen).requires_grad_(true);
  const auto ys = torch::randn({s, 4}, gen).requires_grad_(true);
  const auto weights = torch::randn({r, 4}, gen, torch::kDouble);
  distill::KrrOptions options;
  options.ridge = 1e-2;
  options.float64 = true;
  const auto got =
      torch::autograd::grad({(distill::krr_predict(fs, ft, ys, options).to(torch::kDouble) * weights).sum()}, {fs, ft, ys});
  const auto fs64 = fs.detach().to(torch::kDouble).requires_grad_(true);
  const auto ft64 = ft.detach().to(torch::kDouble).requires_grad_(true);
  const auto ys64 = ys.detach().to(torch::kDouble).requires_grad_(true);
  const auto fs1 = distill::with_bias_column(fs64), ft1 = distill::with_bias_column(ft64);
  const auto kss = fs1.matmul(fs1.t());
  const auto a = kss + options.ridge * kss.detach().trace() * torch::eye(s, torch::kDouble);
  const auto plain = ft1.matmul(fs1.t()).matmul(torch::linalg_solve(a, ys64));
  const auto want = torch::autograd::grad({(plain * weights).sum()}, {fs64, ft64, ys64});
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].scalar_type(), torch::kFloat) << "input " << i;
    EXPECT_LT((got[i].to(torch::kDouble) - want[i]).abs().max().item<double>(), 1e-6 * (1 + want[i].abs().max().item<double>()))
        << "input " << i;
  }
}

TEST(DistillConfig, KrrPrecisionIsValidatedAndLeavesTheDefaultHash) {
  const auto c = distill::distill_preset("cpu");
  // A config.json written before the option existed, and one naming the default, keep the hash.
  nlohmann::json old = c.to_json();
  old.erase("krr_precision");
  nlohmann::json explicit_default = c.to_json();
  explicit_default["krr_precision"] = "float32";
  EXPECT_EQ(distill::DistillConfig::from_json(old).hash(), c.hash());
  EXPECT_EQ(distill::DistillConfig::from_json(explicit_default).hash(), c.hash());
  auto f64 = c;
  f64.krr_precision = distill::KrrPrecision::float64;
  EXPECT_NE(f64.hash(), c.hash());
  nlohmann::json bad = c.to_json();
  bad["krr_precision"] = "float16";
  try {
    distill::DistillConfig::from_json(bad, "run.json [distill]");
    FAIL() << "float16 was accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    for (const char* part : {"run.json [distill]", "krr_precision", "float32 or float64", "float16"})
      EXPECT_NE(what.find(part), std::string::npos) << part << " not in: " << what;
  }
}

TEST_F(DistillRun, KernelHealthIsWarnedLoggedAndWritten) {
  for (const std::string method : {"ours", "krrst"}) {
    SCOPED_TRACE(method);
    TempDir out;
    auto c = config(method);
    c.iterations = 10;
    if (method == "krrst") c.krr_precision = distill::KrrPrecision::float64;
    distill::run_distill(c, out.path(), false);
    const auto metrics = io::parse_json_file(out.path() + "/metrics.json");
    const auto& kernel = metrics.at("kernel");
    const int64_t rows = kernel.at("rows"), features = kernel.at("features");
    EXPECT_EQ(kernel.at("precision"), choice_name(c.krr_precision));
    // ours: every rotation of every image; krrst: the budget's images.
    auto set = distill::DistilledSet::load(out.path() + "/distilled.pt");
    EXPECT_EQ(rows, method == "ours" ? 4 * set.size() : c.budget);
    const std::string log = io::read_file(out.path() + "/log");
    const std::string warning = "kernel: " + std::to_string(rows) + " rows from " + std::to_string(features) +
                                " features (rank <= " + std::to_string(features) + "): K_ss is singular";
    EXPECT_EQ(log.find(warning) != std::string::npos, features < rows) << log;
    EXPECT_EQ(method == "ours", features < rows);  // the tiny ConvNet 8-8 has 129 features
    EXPECT_NE(log.find("| kernel cond "), std::string::npos);
    // loss.csv: one condition per iteration, each at least 1; metrics.json summarises them.
    std::istringstream csv(io::read_file(out.path() + "/loss.csv"));
    std::string line;
    std::getline(csv, line);
    EXPECT_EQ(line, "iteration,loss,kernel_cond");
    std::vector<double> conditions;
    while (std::getline(csv, line)) conditions.push_back(std::stod(line.substr(line.rfind(',') + 1)));
    ASSERT_EQ(conditions.size(), 10u);
    for (double k : conditions) EXPECT_GE(k, 1.0);
    EXPECT_NEAR(kernel.at("condition_first").get<double>(), conditions.front(), 1e-5 * conditions.front());
    EXPECT_NEAR(kernel.at("condition_last").get<double>(), conditions.back(), 1e-5 * conditions.back());
    const double largest = *std::max_element(conditions.begin(), conditions.end());
    EXPECT_NEAR(kernel.at("condition_max").get<double>(), largest, 1e-5 * largest);
  }
}
