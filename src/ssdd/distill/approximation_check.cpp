#include "ssdd/distill/approximation_check.h"

#include <torch/torch.h>

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "ssdd/core/error.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/measure/similarity.h"
#include "ssdd/teacher/representations.h"

namespace ssdd::distill {

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
    c.r2 = measure::r_squared(param ? param->reps_from_coeffs(predicted) : predicted, truth);
    c.r2_unshifted = measure::r_squared(identity, truth);
    if (param) c.r2_basis = measure::r_squared(param->reps_from_coeffs(param->coeffs_from_reps(truth)), truth);
    out.push_back(c);
  }
  return out;
}

std::vector<ApproximationViewCheck> check_approximation_heldout(DistilledSet& set, const teacher::Teacher& t,
                                                                const std::string& data, const data::ImageSet& heldout,
                                                                c10::Device device,
                                                                int64_t images) {
  if (!set.approx() || heldout.size() == 0) return {};
  const int64_t n = std::min(images, heldout.size());
  const at::Tensor pixels = heldout.images.slice(0, 0, n);
  const std::string split = "test" + std::to_string(n);  // a cache entry of its own
  const auto& views = set.view_list();
  const at::Tensor identity = teacher::representations(t, data, split, pixels, views[0], device);
  std::vector<at::Tensor> rotated;
  for (size_t v = 1; v < views.size(); ++v)
    rotated.push_back(teacher::representations(t, data, split, pixels, views[v], device));
  auto checks = check_approximation(set, identity, rotated);
  // In sample: what the networks give for the set's own views against what the teacher
  // says of them.
  torch::NoGradGuard no_grad;
  const at::Tensor own = set.images().to(device);
  const ParameterizedSet* param = set.param();
  const at::Tensor inputs = set.approx_inputs().detach();
  for (size_t v = 1; v < views.size(); ++v) {
    const at::Tensor truth = t.encoder->features(data::apply_view(own, views[v])).to(inputs.device());
    const at::Tensor predicted = set.approx()->forward(inputs, static_cast<int64_t>(v));
    checks[v - 1].r2_distilled = measure::r_squared(param ? param->reps_from_coeffs(predicted) : predicted, truth);
  }
  return checks;
}

std::string summary_line(const std::vector<ApproximationViewCheck>& checks) {
  std::ostringstream line;
  line << std::fixed << std::setprecision(3);
  for (const auto& k : checks)
    line << (line.tellp() > 0 ? " " : "") << k.view << " " << k.r2 << " / " << k.r2_unshifted << " / " << k.r2_basis
         << " / " << k.r2_distilled;
  return line.str();
}

std::vector<ApproximationViewCheck> check_approximation_heldout(const std::string& set_path,
                                                                const teacher::Teacher& t, const std::string& data,
                                                                const data::ImageSet& heldout, c10::Device device,
                                                                int64_t images) {
  DistilledSet set = DistilledSet::load(set_path);
  return check_approximation_heldout(set, t, data, heldout, device, images);
}

}  // namespace ssdd::distill
