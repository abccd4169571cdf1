// One outer iteration of the bilevel distillation, SPEC section 2: the real batch it is
// matched against (step 1) and steps 2-7.
#pragma once
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include "ssdd/data/registry.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/krr.h"
#include "ssdd/distill/model_pool.h"
#include "ssdd/models/encoder.h"
#include "ssdd/train/distributed.h"

namespace ssdd::distill {

struct RealBatch {
  at::Tensor images;   // T*n x C x H x W, normalised, every predefined view (view-major)
  at::Tensor targets;  // T*n x d, the teacher's representation of each view
  int64_t views = 1;   // T: rows per image (1 with crop-flip or one view each)
};

// Shard `shard` of `shards` (issue 26): images [s*n/S, (s+1)*n/S) of the batch with every
// view of each; the batch itself when S = 1.
RealBatch shard_of(const RealBatch& real, int64_t shard, int64_t shards);

// Where the real batches come from (SPEC 2 step 1). Everything lives on the device, so a
// step sends it nothing but indices.
struct RealBatchSource {
  at::Tensor pixels;                     // the source training images (uint8)
  data::Normalization norm;
  std::vector<data::View> views;         // the predefined views (ours); rot0 alone for krrst
  std::vector<at::Tensor> view_targets;  // per view: the teacher's cached representations (n x d)
  int64_t batch = 0;                     // images drawn per step, before views
  // Set (krrst, KRR-ST's own recipe): the images are randomly cropped and flipped, and this
  // teacher computes their targets each step instead of the cache.
  const models::Encoder* crop_flip_teacher = nullptr;
  bool one_view_each = false;            // the random-augmentation ablation: one view per image
};

// Draws one step's real batch: `batch` images uniformly with replacement, every view of
// each (or one at random, one_view_each), with their targets.
RealBatch draw_real_batch(const RealBatchSource& source, at::Generator& gen);

// Rows of a view-major stack of T views of `count` images that pick one view per image
// at random: row of image i = view_i * count + i.
at::Tensor random_view_rows(int64_t count, size_t views, at::Generator& gen);

// Seconds spent in each phase of one outer iteration (`ssdd bench --phases`).
struct StepPhases {
  double real_forward = 0;       // the real batch through the sampled model, no graph
  double distilled_forward = 0;  // the distilled views through it, with graph
  double regression = 0;         // kernels, Cholesky solve, prediction, loss
  double backward_update = 0;    // gradient to the distilled set and its AdamW step
  double inner_step = 0;         // one training step of the sampled model
  double total() const { return real_forward + distilled_forward + regression + backward_update + inner_step; }
};

struct OuterStepOptions {
  double ridge = 1e-6;          // lambda = ridge * trace(K_ss)
  long long iteration = -1;     // named by a NumericsError
  bool krr_float64 = false;     // the kernel regression in float64 (KrrOptions::float64)
  // Rows of the distilled set's view-major T*m stack that take part in this step (the
  // random-augmentation ablation draws one view per image); undefined: every view.
  at::Tensor set_rows;
  // When set, each phase is timed into it. Timing synchronises the device after every
  // phase, so only benchmarks ask for it.
  StepPhases* phases = nullptr;
  // When set, receives the norm of the distilled set's gradient (a device scalar: no sync),
  // for the divergence guard of the distiller.
  at::Tensor* gradient_norm = nullptr;
  // When set, receives the kernel's size and condition estimate (a device scalar: no sync).
  KernelHealth* kernel_health = nullptr;
  // Fault injection only (core/fault.h): the gradient is multiplied by this before the step.
  double gradient_scale = 1.0;
  // The pool's shards this process computes (pool.shards() of them in all; empty: every one).
  // Each matches its own model against its slice of the real batch; their gradients are
  // averaged, summed across the ranks of `group` (when set) before the one AdamW step, so
  // every rank holds the same set. The loss is the shards' mean, the condition their largest.
  std::vector<int64_t> own_shards;
  train::ProcessGroup* group = nullptr;
  // When set, the seconds spent in the collectives of the step are added to it (waiting for
  // the slowest rank included; Gloo's wait is synchronous, so this is wall time on the CPU).
  double* collective_seconds = nullptr;
};

// Returns the outer loss (a detached scalar tensor, left on its device: reading it is
// the caller's choice, since on a GPU that is a sync).
at::Tensor outer_step(DistilledSet& set, ModelPool& pool, const RealBatch& real, torch::optim::Optimizer& optimizer,
                      at::Generator& gen, const OuterStepOptions& options);

}  // namespace ssdd::distill
