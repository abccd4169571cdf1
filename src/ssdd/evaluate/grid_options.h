// The component options of a grid (GridConfig, grid.h): how each set's network is
// pretrained, how features are probed, and whether and how networks are fine-tuned. Each is
// one part of the grid's config, flat in its JSON under the keys config files have always
// used (GridConfig::json_parts).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/evaluate/finetune_protocol.h"
#include "ssdd/train/precision.h"

namespace ssdd::evaluate {

// The schedule of evaluation pretraining (pretrain.h), KRR-ST's by default. In JSON:
// pretrain_epochs, pretrain_steps, pretrain_batch, pretrain_lr, weight_decay, pretrain_precision.
struct PretrainSchedule {
  int64_t epochs = 1000;
  // >0: every set's network trains for exactly this many SGD steps, `epochs` ignored: the
  // equal-compute protocol (issue 23). At 0, the paper's epochs over each set's T*m pairs,
  // which gives a 4-view set four times the steps of a 1-view one.
  int64_t steps = 0;
  int64_t batch_size = 256;
  double lr = 0.1;             // constant
  double weight_decay = 1e-3;  // KRR-ST's; the paper's per-budget table is unknown
  // The forward's arithmetic (train/precision.h): bfloat16 runs it under autocast (speed and
  // quality: docs/performance-log.md section 22); the loss, the optimiser and the saved weights
  // stay fp32, features, probes and fine-tuning run in fp32.
  train::Precision precision = train::Precision::float32;
};

// The linear probes of a grid. In JSON: probes, probe_epochs, probe_max_train, probe_steps.
struct GridProbeOptions {
  // Protocols (measure::probe_protocols()), each reported in its own table, on the same
  // features: "standardized" (ssdd's) and "krrst" (KRR-ST's linear_eval.py). The first one
  // is the grid's headline number (probe_test_accuracy, the bar chart).
  std::vector<std::string> protocols = {"standardized"};
  int64_t epochs = 30;     // of the "standardized" probe
  int64_t max_train = 0;   // >0: fit each probe (and fine-tuning) on this many train images (quick runs)
  // >0: every protocol trains exactly this many SGD steps instead of its own length (quick
  // runs, tests); 0: each its own (standardized: `epochs`; krrst: 5,000 steps).
  int64_t steps = 0;
};

// Full fine-tuning (finetune.h) of every row's network on each target as well, reported in
// a table of its own; the linear probe always runs (the paper's protocol). In JSON:
// finetune, finetune_protocol, finetune_epochs, finetune_lr.
struct GridFinetuneOptions {
  bool enabled = false;
  // ssdd (`epochs`, no augmentation) or krrst (KRR-ST's: 10,000 steps with crop-flip); `lr`
  // applies to both.
  FinetuneProtocol protocol = FinetuneProtocol::ssdd;
  int64_t epochs = 10;  // of the ssdd protocol
  double lr = 0.01;
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PretrainSchedule, epochs, steps, batch_size, lr, weight_decay,
                                                precision)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GridProbeOptions, protocols, epochs, max_train, steps)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GridFinetuneOptions, enabled, protocol, epochs, lr)

}  // namespace ssdd::evaluate
