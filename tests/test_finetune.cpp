// Full fine-tuning's named protocols and its crop-flip augmentation (evaluate/finetune.h).
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <string>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/evaluate/finetune.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/models/zoo.h"

using namespace ssdd;

namespace {

// Four classes of 16x16 grey images: a bright quadrant (the class) over noise.
data::ImageSet tiny_labelled_set(int64_t n, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  data::ImageSet set;
  set.num_classes = 4;
  set.labels = torch::randint(0, 4, {n}, gen, torch::kLong);
  auto images = 60 * torch::rand({n, 1, 16, 16}, gen);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = set.labels[i].item<int64_t>();
    images[i].slice(1, 8 * (k / 2), 8 * (k / 2) + 8).slice(2, 8 * (k % 2), 8 * (k % 2) + 8) += 180;
  }
  set.images = images.to(torch::kUInt8).contiguous();
  return set;
}

models::Encoder fresh_encoder() {
  torch::manual_seed(0);
  return models::make_encoder_from_spec("convnet:8-8", {1, 16, 16});
}

at::Tensor flat_weights(const models::Encoder& encoder) {
  std::vector<at::Tensor> flat;
  for (const auto& p : encoder->parameters()) flat.push_back(p.detach().flatten());
  return torch::cat(flat);
}

const data::Normalization kNorm{{0.4f}, {0.3f}};

}  // namespace

TEST(FinetuneProtocol, KrrstCountsTenThousandStepsWithCropFlip) {
  EXPECT_EQ(choice_list<evaluate::FinetuneProtocol>(), "ssdd or krrst");
  const auto ssdd = evaluate::finetune_protocol(evaluate::FinetuneProtocol::ssdd);
  EXPECT_EQ(ssdd.epochs, 10);
  EXPECT_EQ(ssdd.steps, 0);
  EXPECT_EQ(ssdd.augment, "none");
  const auto krrst = evaluate::finetune_protocol(evaluate::FinetuneProtocol::krrst);
  EXPECT_EQ(krrst.steps, 10000);
  EXPECT_EQ(krrst.augment, "crop-flip");
  EXPECT_EQ(krrst.batch_size, 256);
  EXPECT_DOUBLE_EQ(krrst.lr, 0.01);
  EXPECT_DOUBLE_EQ(krrst.momentum, 0.9);
  EXPECT_DOUBLE_EQ(krrst.weight_decay, 5e-4);
}

TEST(FinetuneProtocol, AnUnknownNameIsRefusedWithTheValidNames) {
  try {
    evaluate::GridConfig::from_json({{"finetune_protocol", "simclr"}}, "grid.toml [evaluate]");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    for (const char* part : {"grid.toml [evaluate]", "'finetune_protocol'", "simclr", "ssdd or krrst"})
      EXPECT_NE(what.find(part), std::string::npos) << part << " not in: " << what;
  }
}

TEST(Finetune, CropFlipRunsTheAskedStepsAndRepeatsForTheSameSeed) {
  const auto train = tiny_labelled_set(64, 1), test = tiny_labelled_set(32, 2);
  evaluate::FinetuneOptions o;
  o.steps = 3;  // an epoch of 64 images in batches of 16 would be 4
  o.batch_size = 16;
  o.lr = 0.05;
  o.seed = 7;
  o.augment = "crop-flip";
  auto run = [&](models::Encoder encoder) {
    const auto r = evaluate::finetune(encoder, train, test, kNorm, o);
    return std::make_pair(r, flat_weights(encoder));
  };
  const auto [first, first_weights] = run(fresh_encoder());
  const auto [again, again_weights] = run(fresh_encoder());
  EXPECT_EQ(first.steps, 3);
  EXPECT_EQ(again.steps, 3);
  EXPECT_DOUBLE_EQ(first.test_accuracy, again.test_accuracy);
  EXPECT_DOUBLE_EQ(first.final_loss, again.final_loss);
  EXPECT_TRUE(torch::equal(first_weights, again_weights));
  // The augmentation reaches the batches: without it the same seed trains other weights.
  o.augment = "none";
  const auto [plain, plain_weights] = run(fresh_encoder());
  EXPECT_EQ(plain.steps, 3);
  EXPECT_FALSE(torch::equal(first_weights, plain_weights));
}

TEST(Finetune, AnUnknownAugmentationIsAConfigError) {
  const auto train = tiny_labelled_set(16, 1);
  evaluate::FinetuneOptions o;
  o.augment = "cutout";
  EXPECT_THROW(evaluate::finetune(fresh_encoder(), train, train, kNorm, o), ConfigError);
}
