// One outer iteration of the bilevel distillation, SPEC section 2 steps 1-7.
#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/optim/optimizer.h>

#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/model_pool.h"

namespace ssdd::distill {

struct RealBatch {
  at::Tensor images;   // T*n x C x H x W, normalised, every predefined view (view-major)
  at::Tensor targets;  // T*n x d, the teacher's representation of each view
};

// Returns the outer loss (a detached scalar tensor, left on its device: reading it is
// the caller's choice, since on a GPU that is a sync). `set_rows`, when defined, picks
// the rows of the distilled set's view-major T*m stack that take part in this step (the
// random-augmentation ablation draws one view per image); undefined: every view.
at::Tensor outer_step(DistilledSet& set, ModelPool& pool, const RealBatch& real, torch::optim::Optimizer& optimizer,
                      double ridge, at::Generator& gen, long long iteration, const at::Tensor& set_rows = {});

}  // namespace ssdd::distill
