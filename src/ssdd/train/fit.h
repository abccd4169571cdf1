// The one training loop: epochs of shuffled mini-batches over N items, a loss per
// batch, an optimiser step, a per-step learning rate, progress, and checkpoints that
// let a killed run continue with exactly the numbers it would have produced.
// A SIGINT/SIGTERM (core/stop.h) ends the current step, writes a checkpoint inside the
// epoch (its batch order, next batch and loss so far) and throws Stopped; resuming from it
// gives the numbers of an uninterrupted run too. Without checkpoint_dir it only stops.
// What is trained, and how a batch becomes a loss, is the caller's (hooks).
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include "ssdd/io/tensor_archive.h"
#include "ssdd/train/distributed.h"

namespace ssdd::train {

struct FitOptions {
  std::string stage = "train";     // names the stage in progress lines and errors
  int64_t epochs = 1;
  // >0: train for exactly this many optimiser steps instead (the last epoch is cut short);
  // `epochs` is then ignored. Equal-compute protocols count steps, not epochs.
  int64_t steps = 0;
  int64_t batch_size = 256;
  bool drop_last = true;           // SSL losses want full batches
  uint64_t seed = 0;
  std::string checkpoint_dir;      // empty: no checkpoints, no resume
  int64_t checkpoint_every_epochs = 1;
  bool resume = true;              // continue from a checkpoint in checkpoint_dir
  std::string config_hash;         // a checkpoint of another config is refused
  std::string unit = "img/s";
  bool quiet = false;              // progress lines only for a run longer than kQuietRunSeconds
  // A run shared among the ranks of a job (issue 26), or null. Every rank draws the same
  // batches; the loss hook computes the rank's share (train/autograd_collectives.h), so that a
  // rank's backward gives its share of the one loss's gradient. fit sums the shares of every
  // parameter's gradient before after_backward, the ranks stop at the same step, and rank 0
  // writes the checkpoints, which any world size resumes.
  ProcessGroup* group = nullptr;
};

struct FitHooks {
  // Required: the loss of the batch of items `index` (int64, on CPU). `gen` is the
  // loop's generator, the only randomness a batch may use (augmentations), so a
  // resumed run reproduces an uninterrupted one.
  std::function<at::Tensor(const at::Tensor& index, at::Generator& gen)> batch_loss;
  // Required: the learning rate at a global step (0-based) of `total` steps.
  std::function<double(int64_t step, int64_t total)> learning_rate;
  // Optional: runs between backward() and the optimiser step (e.g. LARS).
  std::function<void()> after_backward;
  // Optional: end of each epoch (0-based), with the epoch's mean loss.
  std::function<void(int64_t epoch, double mean_loss)> on_epoch_end;
  // Required with checkpoints: the state to save and restore (weights, buffers).
  std::function<io::TensorMap()> save_state;
  std::function<void(const io::TensorMap&)> load_state;
  // Optional: every printed progress line is also passed here (run log).
  std::function<void(const std::string&)> log;
};

struct FitResult {
  std::vector<double> epoch_loss;       // every epoch (a cut-short last one too), including those before a resume
  std::vector<double> epoch_seconds;
  int64_t steps = 0;
  double seconds = 0;                    // wall time over all pieces of the run
  double items_per_second = 0;           // of this process's epochs
  int64_t resumed_from_epoch = -1;       // -1: started fresh
};

FitResult fit(int64_t num_items, torch::optim::Optimizer& optimizer, const FitOptions& options,
              const FitHooks& hooks);

// Batches per epoch of `num_items` in batches of `batch_size` (the last one short
// unless drop_last).
int64_t steps_per_epoch(int64_t num_items, int64_t batch_size, bool drop_last);

// Sets every parameter group's learning rate.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace ssdd::train
