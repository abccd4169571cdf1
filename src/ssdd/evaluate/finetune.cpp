#include "ssdd/evaluate/finetune.h"

#include <chrono>

#include <torch/nn/modules/linear.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/data/crop_flip.h"
#include "ssdd/data/registry.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/train/classifier_fit.h"

namespace ssdd::evaluate {

namespace {

constexpr int64_t kCropPadding = 4;  // KRR-ST's RandomCrop(padding=4)

void check(const data::ImageSet& train, const data::ImageSet& test, const FinetuneOptions& options) {
  if (!train.has_labels() || !test.has_labels())
    throw ConfigError("finetune", "the target data set needs labels on its train and test splits");
  if (options.steps == 0 && options.epochs < 1) throw ConfigError("finetune_epochs", "must be at least 1");
  if (options.augment != "none" && options.augment != "crop-flip")
    throw ConfigError("finetune_augment", "expected none or crop-flip, found '" + options.augment + "'");
}

}  // namespace

const ChoiceNames<FinetuneProtocol>& choice_names(FinetuneProtocol) {
  static const ChoiceNames<FinetuneProtocol> names = {{FinetuneProtocol::ssdd, "ssdd"},
                                                      {FinetuneProtocol::krrst, "krrst"}};
  return names;
}

FinetuneOptions finetune_protocol(FinetuneProtocol protocol) {
  FinetuneOptions o;
  if (protocol == FinetuneProtocol::krrst) {
    o.steps = 10000;
    o.augment = "crop-flip";
  }
  return o;
}

FinetuneResult finetune(models::Encoder encoder, const data::ImageSet& train, const data::ImageSet& test,
                        const data::Normalization& norm, const FinetuneOptions& options) {
  check(train, test, options);
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = options.max_train > 0 ? std::min(options.max_train, train.size()) : train.size();
  const at::Tensor images = train.images.slice(0, 0, n).to(options.device);
  const at::Tensor labels = train.labels.slice(0, 0, n).to(options.device, torch::kLong);

  torch::manual_seed(options.seed);  // the classifier's initial weights
  torch::nn::Linear classifier(encoder->feature_dim(), train.num_classes);
  encoder->to(options.device);
  classifier->to(options.device);
  std::vector<at::Tensor> params = encoder->parameters();
  for (const auto& p : classifier->parameters()) params.push_back(p);
  const auto fit = train::fit_options_of(options, "fine-tune");
  auto logits = [&](const at::Tensor& x) { return classifier(encoder->features(x)); };
  FinetuneResult result;
  // Augmented on the uint8 pixels, so the padding is black, as KRR-ST pads before normalising.
  auto batch_logits = [&](const at::Tensor& idx, at::Generator& gen) {
    at::Tensor pixels = images.index_select(0, idx);
    if (options.augment == "crop-flip") pixels = data::random_crop_flip(pixels, kCropPadding, gen);
    ++result.steps;
    return logits(data::normalize(pixels, norm));
  };
  encoder->train();
  classifier->train();
  result.final_loss = train::fit_classifier(params, labels, batch_logits, fit);
  encoder->eval();
  classifier->eval();

  // Scored in eval mode, batched, like every feature extraction.
  auto top1 = [&](const at::Tensor& images_u8, const at::Tensor& y) {
    return train::top1_accuracy(measure::extract_features(logits, images_u8, norm, 512, options.device),
                                y.to(torch::kCPU, torch::kLong));
  };
  result.train_accuracy = top1(images, labels);
  result.test_accuracy = top1(test.images, test.labels);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

}  // namespace ssdd::evaluate
