#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <torch/torch.h>

#include "ssdd/measure/linear_probe.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/teacher/barlow_twins.h"
#include "ssdd/teacher/teacher.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;

namespace {

// Direct double-precision evaluation of the Barlow Twins loss, term by term.
double reference_loss(const at::Tensor& a, const at::Tensor& b, double lambda, double scale) {
  const auto z1 = a.to(torch::kDouble), z2 = b.to(torch::kDouble);
  const int64_t n = z1.size(0), d = z1.size(1);
  auto standard = [&](const at::Tensor& z) {
    return (z - z.mean(0)) / torch::sqrt(z.var(0, /*unbiased=*/false) + 1e-5);
  };
  const auto s1 = standard(z1), s2 = standard(z2);
  double loss = 0;
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double c = (s1.select(1, i) * s2.select(1, j)).sum().item<double>() / static_cast<double>(n);
      loss += i == j ? (1 - c) * (1 - c) : lambda * c * c;
    }
  return scale * loss;
}

}  // namespace

TEST(BarlowTwins, LossMatchesADirectDoubleComputation) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const auto z1 = torch::randn({16, 6}, gen, torch::kDouble);
  const auto z2 = z1 + 0.5 * torch::randn({16, 6}, gen, torch::kDouble);
  const double got = teacher::barlow_twins_loss(z1, z2, 0.0051, 0.1).item<double>();
  EXPECT_NEAR(got, reference_loss(z1, z2, 0.0051, 0.1), 1e-10);
  // float32 input agrees to float precision
  const double got32 = teacher::barlow_twins_loss(z1.to(torch::kFloat), z2.to(torch::kFloat), 0.0051, 0.1).item<double>();
  EXPECT_NEAR(got32, reference_loss(z1, z2, 0.0051, 0.1), 1e-4);
}

TEST(BarlowTwins, ZeroForIdenticalPerfectlyDecorrelatedEmbeddings) {
  // Columns of a scaled Hadamard matrix: zero mean (apart from the constant column,
  // dropped), unit variance, mutually orthogonal.
  const auto h = torch::tensor({{1, 1, 1, 1}, {1, -1, 1, -1}, {1, 1, -1, -1}, {1, -1, -1, 1}}, torch::kDouble);
  const auto z = h.slice(1, 1, 4);  // 4 x 3
  const double loss = teacher::barlow_twins_loss(z, z, 0.0051, 1.0).item<double>();
  EXPECT_NEAR(loss, 0.0, 1e-4);  // only the 1e-5 epsilon of the standardisation remains
  EXPECT_GT(teacher::barlow_twins_loss(z, -z, 0.0051, 1.0).item<double>(), 1.0);
}

TEST(LinearProbe, NearPerfectOnASeparableSet) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(2);
  const auto centers = 4 * torch::randn({3, 8}, gen);
  auto make = [&](int64_t n) {
    const auto labels = torch::randint(0, 3, {n}, gen, torch::kLong);
    return std::make_pair(centers.index_select(0, labels) + 0.3 * torch::randn({n, 8}, gen), labels);
  };
  const auto [train_x, train_y] = make(300);
  const auto [test_x, test_y] = make(100);
  measure::ProbeOptions o;
  o.epochs = 20;
  o.batch_size = 32;
  const auto r = measure::linear_probe(train_x, train_y, test_x, test_y, 3, o);
  EXPECT_GE(r.test_accuracy, 0.98);
  EXPECT_EQ(r.feature_dim, 8);
}

TEST(LinearProbe, ColumnStatisticsMatchDoublePrecisionAcrossBlocksOfRows) {
  // 5,000 rows (three blocks) whose columns differ by orders of magnitude in scale and
  // stand far from zero, where a one-pass sum of squares would lose every digit.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const auto scale = torch::tensor({1e-3f, 1.0f, 1e3f, 0.0f});
  const auto x = 100 + scale * torch::randn({5000, 4}, gen);
  const auto [mean, std] = measure::column_mean_std(x);
  const auto x64 = x.to(torch::kDouble);
  EXPECT_TRUE(torch::allclose(mean.to(torch::kDouble), x64.mean(0, true), 1e-6, 0));
  const auto expected = x64.std(0, /*unbiased=*/false, true).clamp_min(1e-6);
  EXPECT_TRUE(torch::allclose(std.to(torch::kDouble), expected, 1e-4, 0)) << std << expected;
  EXPECT_EQ(std[0][3].item<float>(), 1e-6f);  // a constant column is floored, not divided by zero
}

TEST(Teacher, TinyRunLowersTheLossAndWritesEveryOutput) {
  TempDir data, cache, out;
  setenv("SSDD_CACHE", cache.path().c_str(), 1);
  const auto config = tiny_teacher_config(write_tiny_idx(data.path()), 10, 5);
  const auto result = teacher::train_teacher(config, out.path(), false);
  for (const char* f : {"teacher.pt", "teacher.json", "config.json", "metrics.json", "log", "loss.svg",
                        "checkpoints/checkpoint.ckpt"})
    EXPECT_TRUE(std::filesystem::exists(out.path() + "/" + f)) << f;
  const auto metrics = nlohmann::json::parse(io::read_file(out.path() + "/metrics.json"));
  const auto losses = metrics["epoch_loss"].get<std::vector<double>>();
  ASSERT_EQ(losses.size(), 10u);
  EXPECT_LT(losses.back(), losses.front());
  EXPECT_GT(result.probe_test_accuracy, 0.5);  // four easy classes
  const auto t = teacher::load_teacher(out.path(), torch::kCPU);
  EXPECT_EQ(t.feature_dim, 16);
  EXPECT_EQ(t.encoder->features(torch::zeros({2, 1, 16, 16})).sizes(), (std::vector<int64_t>{2, 16}));
}

TEST(Teacher, ResumeAfterAKillReproducesTheUninterruptedWeights) {
  TempDir data, cache, full, cut;
  setenv("SSDD_CACHE", cache.path().c_str(), 1);
  auto config = tiny_teacher_config(write_tiny_idx(data.path()), 10, 5);
  teacher::train_teacher(config, full.path(), false);
  // The killed run: the same configuration through the CLI, SIGKILLed as soon as its
  // first checkpoint (end of epoch 1) is on disk, then resumed.
  const std::string cli = SSDD_CLI_PATH;
  if (cli.empty()) GTEST_SKIP() << "the ssdd executable is not built";
  const std::string args = " teacher --preset quick --data mnist --data-dir " + data.path() +
                           " --arch convnet:8-16:gap --projector 32,32 --epochs 10 --batch-size 64"
                           " --probe-epochs 5 --threads 2 --out " + cut.path();
  kill_when_file_appears(cli + args, cut.path() + "/checkpoints/checkpoint.ckpt");
  ASSERT_TRUE(std::filesystem::exists(cut.path() + "/checkpoints/checkpoint.ckpt"));
  ASSERT_FALSE(std::filesystem::exists(cut.path() + "/teacher.pt"));
  ASSERT_EQ(std::system((cli + args + " --resume >/dev/null 2>&1").c_str()), 0);
  expect_same_tensors(full.path() + "/teacher.pt", cut.path() + "/teacher.pt");
}

TEST(Teacher, ProbingDuringTrainingGivesACurveAndTheSameWeights) {
  TempDir data, cache, plain, probed;
  setenv("SSDD_CACHE", cache.path().c_str(), 1);
  auto config = tiny_teacher_config(write_tiny_idx(data.path()), 4, 2);
  teacher::train_teacher(config, plain.path(), false);
  config.probe_every = 1;
  EXPECT_EQ(config.hash(), tiny_teacher_config(data.path(), 4, 2).hash());  // the same teacher
  teacher::train_teacher(config, probed.path(), false);
  expect_same_tensors(plain.path() + "/teacher.pt", probed.path() + "/teacher.pt");
  const auto metrics = nlohmann::json::parse(io::read_file(probed.path() + "/metrics.json"));
  const auto& curve = metrics.at("probe_curve");
  ASSERT_EQ(curve.size(), 4u);  // epochs 1-3 during training, 4 at the end
  for (size_t i = 0; i < curve.size(); ++i) {
    EXPECT_EQ(curve[i].at("epoch"), static_cast<int64_t>(i + 1));
    if (i > 0) {
      EXPECT_GT(curve[i].at("train_seconds").get<double>(), curve[i - 1].at("train_seconds").get<double>());
    }
    const double accuracy = curve[i].at("probe_test_accuracy");
    EXPECT_GE(accuracy, 0.0);
    EXPECT_LE(accuracy, 1.0);
  }
  EXPECT_EQ(curve.back().at("probe_test_accuracy").get<double>(), metrics.at("probe_test_accuracy").get<double>());
  EXPECT_TRUE(std::filesystem::exists(probed.path() + "/probe.svg"));
  EXPECT_FALSE(std::filesystem::exists(plain.path() + "/probe.svg"));
}
