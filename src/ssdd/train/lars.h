// LARS (layer-wise adaptive rate scaling), the optimiser of the Barlow Twins recipes.
// Written as a gradient transform in front of LibTorch's SGD with momentum, so the
// momentum state is LibTorch's own and is checkpointed with it:
//   g <- g + wd * p;  g <- g * eta * ||p|| / ||g||  (1 where either norm is 0);
// then SGD: mu <- m * mu + g;  p <- p - lr * mu.
// Biases and normalisation parameters (1-d tensors) are excluded from both the
// weight decay and the adaptation, as the Barlow Twins and solo-learn code do.
#pragma once
#include <vector>

#include <ATen/core/Tensor.h>

namespace ssdd::train {

struct LarsOptions {
  double weight_decay = 1e-4;
  double eta = 0.02;
  bool exclude_bias_and_norm = true;
};

// Call between backward() and the SGD step (SGD built with weight_decay 0).
void lars_adapt_gradients(const std::vector<at::Tensor>& params, const LarsOptions& options);

}  // namespace ssdd::train
