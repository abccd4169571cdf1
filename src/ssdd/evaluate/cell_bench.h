// `ssdd bench pretrain` and `ssdd bench probe`: the evaluation grid's two costs, timed on
// synthetic data through the production routines (evaluate/pretrain.h, measure/linear_probe.h),
// beside bench/pytorch_grid_cell.py, a PyTorch version of each written as a careful user would.
//   pretraining cell: a fresh network + linear head regressing d-dimensional targets of a set's
//                     (view, target) pairs by MSE, SGD, batch 256 (every grid row trains one per
//                     architecture and seed);
//   linear probe:     a linear classifier on frozen features, SGD, batch 256, some epochs.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/core/runtime_options.h"
#include "ssdd/train/precision.h"

namespace ssdd::evaluate {

struct PretrainBenchOptions {
  std::string arch = "convnet:64-64-64";
  int64_t pairs = 400;  // (view, target) pairs of the set: T x m
  int64_t channels = 1;
  int64_t size = 28;    // square images
  int64_t dim = 256;    // target dimension d
  int64_t epochs = 20;  // timed; the first one is also reported alone (warm-up)
  int64_t batch = 256;
  train::Precision precision = train::Precision::float32;  // the forward's
  RuntimeOptions runtime;  // seed of the synthetic data and the model; threads; device
};

struct PretrainBenchResult {
  PretrainBenchOptions options;
  int threads = 0;
  int64_t steps = 0;             // optimizer steps of the whole run (the last batch of an epoch may be short)
  double seconds = 0;            // the whole training, as the grid's cell spends it
  double seconds_per_step = 0;
  double final_loss = 0;         // mean MSE of the last epoch (a run that learns ends below the first)
  double first_loss = 0;
  // ConvNets: the run's arithmetic, about 3 forward passes per pair seen (forward, input and
  // weight gradients; distill/step_cost.h's F) plus the head; 0 for other architectures.
  double gflop = 0;
  nlohmann::json to_json() const;
};

PretrainBenchResult run_pretrain_bench(const PretrainBenchOptions& options);

struct ProbeBenchOptions {
  int64_t train = 60000;     // train features (Fashion-MNIST's train split)
  int64_t test = 10000;
  int64_t features = 576;    // ConvNet 64-64-64 at 28x28, flattened
  int64_t classes = 10;
  int64_t epochs = 30;
  int64_t batch = 256;
  bool standardize = true;   // ssdd's default probe (measure/linear_probe.h)
  RuntimeOptions runtime;  // seed of the synthetic data and the model; threads; device
};

struct ProbeBenchResult {
  ProbeBenchOptions options;
  int threads = 0;
  double seconds = 0;            // the classifier's fit (features are given)
  double seconds_per_epoch = 0;
  double test_accuracy = 0;      // the synthetic labels are a linear function of the features
  nlohmann::json to_json() const;
};

ProbeBenchResult run_probe_bench(const ProbeBenchOptions& options);

}  // namespace ssdd::evaluate
