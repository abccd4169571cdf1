#include "ssdd/distill/approximation_schedule.h"

#include <iomanip>
#include <sstream>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/distill/approximation.h"
#include "ssdd/distill/initial_set.h"
#include "ssdd/measure/similarity.h"

namespace ssdd::distill {

namespace {

// SPEC 5 (iii): after distillation, re-fit each q_t so that it maps the final
// representation coefficients C_y to the coefficients of the teacher's representation
// of the rotated distilled image, g(a_t(X_s)), in the final representation basis
// (least squares, since the optimised basis is no longer orthonormal). Without
// parameterization q_t maps Y_s to g(a_t(X_s)) itself.
void refit_approximation(DistilledSet& set, const teacher::Teacher& t, const DistillConfig& c, io::RunLog& log) {
  ParameterizedSet* param = set.param();
  ApproximationNets approx = set.approx();
  if (!approx || c.approximation.refit_steps <= 0) return;
  std::vector<at::Tensor> targets;
  at::Tensor coeffs;
  {
    torch::NoGradGuard no_grad;
    const at::Tensor images = set.images();
    for (int64_t v = 1; v < set.views(); ++v) {
      const at::Tensor reps = t.encoder->features(data::apply_view(images, set.view_list()[static_cast<size_t>(v)]));
      targets.push_back(param ? param->coeffs_from_reps(reps) : reps);
    }
    coeffs = set.approx_inputs().detach().clone();
  }
  ApproximationFitOptions fit;
  fit.steps = c.approximation.refit_steps;
  fit.seed = c.runtime.seed + 2;
  const auto mse = fit_approximation(approx, coeffs, targets, fit);
  std::ostringstream line;
  line << "distill: approximation networks re-fitted on the " << coeffs.size(0) << " final pairs, MSE per view:";
  for (double e : mse) line << " " << e;
  log.say(line.str());
}

// approx_fit = after: distillation kept every view's targets (T*m rows, view-major); fit
// each q_t to map the identity's final coefficients (or targets, without parameterization)
// to view t's, and return the set that ships: the identity's rows and the networks.
DistilledSet approximate_learned_views(DistilledSet& set, const DistillConfig& c, io::RunLog& log) {
  const int64_t m = set.size(), views = set.views();
  const at::Tensor all = set.approx_inputs().detach();
  if (all.size(0) != views * m)
    throw Error("distill: expected " + std::to_string(views * m) + " rows of targets before fitting the "
                "approximation networks, found " + std::to_string(all.size(0)));
  const at::Tensor identity = all.slice(0, 0, m).clone();
  std::vector<at::Tensor> targets;
  for (int64_t v = 1; v < views; ++v) targets.push_back(all.slice(0, v * m, (v + 1) * m));
  // LibTorch initialises modules from the global generator, whose state here would depend on
  // which pool models were re-initialised last, and so on which rank ran which pool shard
  // (issue 26): the networks start from a generator seeded for them.
  torch::manual_seed(c.runtime.seed + 3);
  ApproximationNets approx(views, all.size(1), c.approximation.hidden);
  approx->to(all.device());
  ApproximationFitOptions fit;
  fit.steps = c.approximation.fit_steps;
  fit.seed = c.runtime.seed + 2;
  const auto mse = fit_approximation(approx, identity, targets, fit);
  std::ostringstream line;
  line << std::setprecision(4) << "distill: approximation networks fitted to the " << m
       << " learned targets of each view, MSE / R^2 per view:";
  {
    torch::NoGradGuard no_grad;
    for (int64_t v = 1; v < views; ++v)
      line << " " << mse[static_cast<size_t>(v - 1)] << " / "
           << measure::r_squared(approx->forward(identity, v), targets[static_cast<size_t>(v - 1)]);
  }
  log.say(line.str());
  DistilledSet shipped = [&] {
    if (ParameterizedSet* p = set.param()) {
      ParameterizedSet kept = *p;
      kept.rep_coeffs = identity.requires_grad_(true);
      return DistilledSet::parameterized_form(std::move(kept), approx, set.view_list());
    }
    return DistilledSet::explicit_form(set.images().detach().requires_grad_(true), identity.requires_grad_(true),
                                       set.view_list(), approx);
  }();
  shipped.meta = set.meta;
  return shipped;
}

}  // namespace

DistilledSet finish_approximation(DistilledSet& set, const teacher::Teacher& t, const DistillConfig& c,
                                  io::RunLog& log) {
  if (ships_approximation(c, static_cast<size_t>(set.views())) && c.approximation.fit == ApproxFit::after)
    return approximate_learned_views(set, c, log);
  refit_approximation(set, t, c, log);
  return std::move(set);
}

}  // namespace ssdd::distill
