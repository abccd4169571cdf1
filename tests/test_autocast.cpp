// The bf16 training step (TeacherConfig::precision, train/autocast.h): what autocast changes,
// what it leaves fp32, and that the scope ends cleanly.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "ssdd/io/atomic_file.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/models/batch_norm.h"
#include "ssdd/models/winograd_conv.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/barlow_twins.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/teacher/teacher_step.h"
#include "ssdd/train/autocast.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;

TEST(Autocast, MatrixProductsRunInBf16InsideTheScopeOnly) {
  const auto a = torch::randn({8, 8}), b = torch::randn({8, 8});
  {
    const train::Autocast outer(c10::DeviceType::CPU, at::kBFloat16);
    EXPECT_EQ(a.mm(b).scalar_type(), at::kBFloat16);
    EXPECT_EQ((a + b).scalar_type(), at::kFloat);  // element-wise ops keep their inputs' type
    {
      const train::Autocast inner(c10::DeviceType::CPU, at::kBFloat16);
      EXPECT_EQ(a.mm(b).scalar_type(), at::kBFloat16);
    }
    EXPECT_EQ(a.mm(b).scalar_type(), at::kBFloat16);  // the inner scope's end leaves the outer one on
    {
      const train::Autocast fp32(c10::DeviceType::CPU, at::kFloat);  // changes nothing
      EXPECT_EQ(a.mm(b).scalar_type(), at::kBFloat16);
    }
  }
  EXPECT_EQ(a.mm(b).scalar_type(), at::kFloat);
}

TEST(Autocast, LeavingTheScopeDropsTheWeightsBf16Copies) {
  // Autocast caches the bf16 copy of a leaf parameter; a step that changes the weight in place
  // must not see the old copy in the next scope.
  auto linear = torch::nn::Linear(torch::nn::LinearOptions(4, 4).bias(false));
  const auto x = torch::ones({1, 4});
  at::Tensor before, after;
  {
    const train::Autocast scope(c10::DeviceType::CPU, at::kBFloat16);
    before = linear->forward(x).to(at::kFloat);
  }
  {
    torch::NoGradGuard no_grad;
    linear->weight.add_(1.0);
  }
  {
    const train::Autocast scope(c10::DeviceType::CPU, at::kBFloat16);
    after = linear->forward(x).to(at::kFloat);
  }
  EXPECT_TRUE(torch::allclose(after - before, torch::full({1, 4}, 4.0f), 0.0, 0.05)) << after - before;
}

TEST(Autocast, Bf16TeacherStepIsCloseToFp32AndKeepsFp32Parameters) {
  torch::manual_seed(0);
  const models::ImageShape shape{3, 16, 16};
  teacher::BarlowTwins model(models::make_encoder_from_spec("resnet18:8", shape), std::vector<int64_t>{64, 64});
  model->train();
  data::Normalization norm{{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}};
  const auto v1 = torch::rand({64, 3, 16, 16}), v2 = torch::rand({64, 3, 16, 16});

  auto loss_and_grad = [&](teacher::Precision precision) {
    model->zero_grad();
    const auto [z1, z2] = teacher::teacher_embeddings(model, v1, v2, norm, precision);
    EXPECT_EQ(z1.scalar_type(), at::kFloat);
    const auto loss = teacher::barlow_twins_loss(z1, z2, 0.0051, 0.1);
    loss.backward();
    const at::Tensor w = model->backbone->parameters().front();
    EXPECT_EQ(w.scalar_type(), at::kFloat);
    EXPECT_EQ(w.grad().scalar_type(), at::kFloat);
    std::vector<at::Tensor> g;
    for (const auto& np : model->named_parameters()) g.push_back(np.value().grad().clone());
    return std::make_pair(loss.item<double>(), g);
  };
  const auto [loss32, grad32] = loss_and_grad(teacher::Precision::float32);
  const auto [loss16, grad16] = loss_and_grad(teacher::Precision::bfloat16);
  EXPECT_NEAR(loss16, loss32, 0.02 * loss32);
  EXPECT_NE(loss16, loss32);  // bf16 arithmetic did run
  std::vector<at::Tensor> flat16, flat32;
  for (size_t i = 0; i < grad16.size(); ++i) {
    flat16.push_back(grad16[i].flatten());
    flat32.push_back(grad32[i].flatten());
  }
  const auto g16 = torch::cat(flat16), g32 = torch::cat(flat32);
  const double cosine = (g16.dot(g32) / (g16.norm() * g32.norm())).item<double>();
  // bf16's rounding of every activation reaches the first layers' gradients as ~35% of their
  // norm at this random initialisation: the whole gradient's direction agrees at cosine 0.93-0.94
  // for batches of 32-512, as PyTorch's own autocast gives with the yardstick's ResNet18 (0.94).
  EXPECT_GT(cosine, 0.85);
}

TEST(Autocast, BatchNormAcrossRanksNormalisesBf16InputsInFp32) {
  models::SyncBatchNorm2d bn(4);
  bn->train();
  bn->sum_across_ranks = [](const at::Tensor& sums) { return sums; };  // one rank
  const auto x = torch::randn({600, 4, 3, 3}) * 3 + 1;  // 5,400 rows a channel: past bf16's exact counts
  const auto y32 = bn->forward(x);
  const auto mean32 = bn->running_mean.clone();
  bn->running_mean.zero_();
  const auto x16 = x.to(at::kBFloat16).requires_grad_();
  const auto y16 = bn->forward(x16);
  EXPECT_EQ(y16.scalar_type(), at::kBFloat16);  // as LibTorch's batch norm returns it
  EXPECT_TRUE(torch::allclose(y16.to(at::kFloat), y32, 0.0, 0.05));
  EXPECT_TRUE(torch::allclose(bn->running_mean, mean32, 0.0, 0.01));
  y16.to(at::kFloat).pow(2).sum().backward();
  ASSERT_TRUE(x16.grad().defined());
  EXPECT_EQ(x16.grad().scalar_type(), at::kBFloat16);
  EXPECT_GT(x16.grad().abs().sum().item<double>(), 0.0);
}

TEST(Autocast, Bf16TeacherTrainsAndIsAnotherTeacher) {
  TempDir data, cache, out;
  setenv("SSDD_CACHE", cache.path().c_str(), 1);
  auto config = tiny_teacher_config(write_tiny_idx(data.path()), 4, 3);
  const std::string fp32_hash = config.hash();
  EXPECT_FALSE(config.to_json().contains("precision"));  // teachers trained before the option keep their ids
  config.precision = teacher::Precision::bfloat16;
  EXPECT_NE(config.hash(), fp32_hash);
  EXPECT_EQ(config.to_json().at("precision"), "bfloat16");
  EXPECT_EQ(teacher::TeacherConfig::from_json(config.to_json()).precision, teacher::Precision::bfloat16);

  const auto result = teacher::train_teacher(config, out.path(), false);
  const auto metrics = nlohmann::json::parse(io::read_file(out.path() + "/metrics.json"));
  const auto losses = metrics["epoch_loss"].get<std::vector<double>>();
  EXPECT_LT(losses.back(), losses.front());
  EXPECT_GT(result.probe_test_accuracy, 0.5);
  for (const auto& [name, tensor] : io::load_tensors(out.path() + "/teacher.pt")) {
    if (tensor.is_floating_point()) {
      EXPECT_EQ(tensor.scalar_type(), at::kFloat) << name;
    }
  }
}

// ssdd's Winograd convolutions bypass the dispatcher, so autocast would not reach them: under a
// bf16 scope a wide layer takes LibTorch's convolution, which computes in bf16 even on fp32 input.
TEST(Autocast, WideConvolutionsLeaveWinogradForLibTorchsBf16Convolution) {
  const at::Tensor x = torch::randn({2, 64, 8, 8}), w = torch::randn({128, 64, 3, 3}) * 0.05;
  if (!models::winograd_pays(x, w)) GTEST_SKIP() << "no Winograd convolution in this build or on this CPU";
  const train::Autocast autocast(c10::DeviceType::CPU, at::kBFloat16);
  EXPECT_FALSE(models::winograd_pays(x, w));
  EXPECT_EQ(models::conv3x3(x, w, at::Tensor()).scalar_type(), at::kBFloat16);
}
