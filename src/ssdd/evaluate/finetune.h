// Full fine-tuning, the protocol of KRR-ST's published transfer tables (SPEC 2): the
// pretrained encoder and a fresh linear classifier trained together on a target's train
// split by cross-entropy (SGD momentum 0.9, lr 0.01 with cosine decay, weight decay 5e-4,
// batch 256), then top-1 on its test split. The linear probe (linear_probe.h) stays the
// default protocol, the paper's; the grid adds this one on request.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "ssdd/data/dataset.h"
#include "ssdd/evaluate/finetune_protocol.h"
#include "ssdd/models/encoder.h"

namespace ssdd::evaluate {

struct FinetuneOptions {
  // [decision] Training length in epochs of the target's train split (1 epoch =
  // ceil(N / batch) steps); KRR-ST counts steps instead (FinetuneProtocol::krrst).
  int64_t epochs = 10;
  int64_t steps = 0;       // >0: this many SGD steps instead of `epochs`
  // Augmentation of each training batch, spelled as DistillConfig::real_augment: "none", or
  // "crop-flip" (random crop after zero padding 4, horizontal flip with probability 1/2:
  // KRR-ST's). Drawn from the fit loop's generator, so the same seed gives the same numbers.
  std::string augment = "none";
  int64_t batch_size = 256;
  double lr = 0.01;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  int64_t max_train = 0;   // >0: train on the first this many images (quick runs)
  uint64_t seed = 0;       // classifier init, batch order and augmentation
  c10::Device device = c10::Device(c10::kCPU);
};

struct FinetuneResult {
  double test_accuracy = 0;   // top-1, in [0, 1]
  double train_accuracy = 0;  // of the final weights, on the images trained on
  double final_loss = 0;      // mean cross-entropy of the last epoch
  int64_t steps = 0;          // optimiser steps taken
  double seconds = 0;
};

// The two fine-tuning protocols a grid can name [decision, issue 23]:
//   "ssdd"   the defaults above: 10 epochs, no augmentation;
//   "krrst"  KRR-ST's algorithms/finetune.py on CIFAR targets: 10,000 SGD steps, crop-flip;
//            the optimiser, schedule and batch as above.
FinetuneOptions finetune_protocol(FinetuneProtocol protocol);

// Trains `encoder` in place (pass a copy to keep the original).
FinetuneResult finetune(models::Encoder encoder, const data::ImageSet& train, const data::ImageSet& test,
                        const data::Normalization& norm, const FinetuneOptions& options);

}  // namespace ssdd::evaluate
