#include "ssdd/train/lars.h"

#include <torch/torch.h>

namespace ssdd::train {

void lars_adapt_gradients(const std::vector<at::Tensor>& params, const LarsOptions& options) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params) {
    auto g = p.grad();
    if (!g.defined()) continue;
    if (options.exclude_bias_and_norm && p.dim() == 1) continue;
    if (options.weight_decay != 0) g.add_(p, options.weight_decay);
    // Keep the norms on the device: no host sync in the training loop.
    const auto p_norm = p.norm();
    const auto g_norm = g.norm();
    const auto one = torch::ones_like(p_norm);
    const auto trust = torch::where((p_norm > 0) & (g_norm > 0), options.eta * p_norm / g_norm, one);
    g.mul_(trust);
  }
}

}  // namespace ssdd::train
