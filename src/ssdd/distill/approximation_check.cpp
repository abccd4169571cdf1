#include "ssdd/distill/approximation_check.h"

#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::distill {
namespace {

double r2(const at::Tensor& prediction, const at::Tensor& truth) {
  const at::Tensor t = truth.to(torch::kDouble);
  const double residual = (prediction.to(torch::kDouble) - t).pow(2).sum().item<double>();
  const double total = (t - t.mean(0, true)).pow(2).sum().item<double>();
  return 1.0 - residual / std::max(total, 1e-300);
}

}  // namespace

std::vector<ApproximationViewCheck> check_approximation(DistilledSet& set, const at::Tensor& identity_reps,
                                                        const std::vector<at::Tensor>& view_reps) {
  ApproximationNets approx = set.approx();
  if (!approx) return {};
  if (static_cast<int64_t>(view_reps.size()) != set.views() - 1)
    throw Error("approximation check: " + std::to_string(view_reps.size()) + " views of representations for a set of " +
                std::to_string(set.views()) + " views");
  torch::NoGradGuard no_grad;
  const auto device = approx->parameters().front().device();
  const at::Tensor identity = identity_reps.to(device, torch::kFloat);
  const ParameterizedSet* param = set.param();
  const at::Tensor inputs = param ? param->coeffs_from_reps(identity) : identity;
  std::vector<ApproximationViewCheck> out;
  for (int64_t v = 1; v < set.views(); ++v) {
    const at::Tensor truth = view_reps[static_cast<size_t>(v - 1)].to(device, torch::kFloat);
    const at::Tensor predicted = approx->forward(inputs, v);
    ApproximationViewCheck c;
    c.view = set.view_list()[static_cast<size_t>(v)].name();
    c.r2 = r2(param ? param->reps_from_coeffs(predicted) : predicted, truth);
    c.r2_unshifted = r2(identity, truth);
    if (param) c.r2_basis = r2(param->reps_from_coeffs(param->coeffs_from_reps(truth)), truth);
    out.push_back(c);
  }
  return out;
}

nlohmann::json to_json(const std::vector<ApproximationViewCheck>& checks) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& c : checks)
    j.push_back({{"view", c.view}, {"r2", c.r2}, {"r2_unshifted", c.r2_unshifted}, {"r2_basis", c.r2_basis}});
  return j;
}

}  // namespace ssdd::distill
