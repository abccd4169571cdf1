#include "ssdd/distill/initial_set.h"

#include <algorithm>
#include <functional>
#include <sstream>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/data/registry.h"
#include "ssdd/distill/memory_estimate.h"
#include "ssdd/io/run_log.h"
#include "ssdd/measure/memory.h"
#include "ssdd/teacher/representations.h"
#include "ssdd/teacher/teacher.h"

namespace ssdd::distill {

// Whether the set, once distilled, ships approximation networks q_t in place of the
// rotated views' targets: `ours` with the networks on and more than the identity view.
bool ships_approximation(const DistillConfig& c, size_t view_count) {
  return c.method == Method::ours && c.approximation.enabled && view_count > 1;
}

// What an `ours` set of this config is made of, for its storage accounting (SPEC 6).
OursSizes ours_sizes(const DistillConfig& c, const models::ImageShape& image, int64_t rep_dim,
                     const std::vector<data::View>& views) {
  OursSizes sizes;
  sizes.channels = image.channels;
  sizes.height = image.height;
  sizes.width = image.width;
  sizes.base_height = image.height / c.parameterization.base_scale;
  sizes.base_width = image.width / c.parameterization.base_scale;
  sizes.image_bases = c.parameterization.image_bases;
  sizes.rep_dim = rep_dim;
  sizes.rep_bases = c.parameterization.rep_bases;
  sizes.views = static_cast<int64_t>(views.size());
  sizes.approx_hidden = c.approximation.hidden;
  sizes.approximation = ships_approximation(c, views.size());
  sizes.parameterization = c.parameterization.enabled;
  for (const auto& v : views) sizes.view_names.push_back(v.name());
  return sizes;
}

// Before anything large is made: the set's m fits the source's training set, and the run's
// estimated peak memory fits the machine (memory_estimate.h).
void check_size_and_memory(const DistillConfig& c, const data::ImageSet& train, int64_t rep_dim, c10::Device device) {
  const int64_t n = train.size();
  const models::ImageShape image{train.channels(), train.height(), train.width()};
  const int64_t krrst_m = c.method == Method::krrst ? distilled_images(c, image, rep_dim) : 0;
  if (krrst_m > n)
    throw ConfigError("budget", "a krrst budget of " + std::to_string(krrst_m) + " images exceeds the " +
                                    std::to_string(n) + " images of the source's training set");
  const DistillShape shape = distill_shape(c, {train.channels(), train.height(), train.width()}, n, rep_dim);
  if (shape.distilled > n)
    throw ConfigError("budget", "a budget of " + std::to_string(c.budget) + " buys m = " +
                                    std::to_string(shape.distilled) + " images, more than the " + std::to_string(n) +
                                    " of the source's training set; lower budget or raise image_bases");
  measure::check_memory(distill_memory(shape), device);
}

// Teacher representations of every view of the source train split (cached on disk).
std::vector<at::Tensor> view_representations(const teacher::Teacher& t, const std::string& data,
                                             const data::ImageSet& train, const std::vector<data::View>& views,
                                             c10::Device device, train::ProcessGroup* shared_by) {
  std::vector<at::Tensor> reps;
  for (const auto& v : views)
    reps.push_back(teacher::representations(t, data, "train", train.images, v, device, 512, shared_by));
  return reps;
}

namespace {

// What a starting view of the pool's images is read as: view v's teacher representations,
// or their coefficients in the representation basis, of the images `index`.
using ViewTargets = std::function<at::Tensor(size_t view, const at::Tensor& index)>;

// What the starting set of `ours` is made of (SPEC 3-5).
struct OursStart {
  const DistillConfig& c;
  const data::DatasetSplits& splits;
  const std::vector<data::View>& views;
  const std::vector<at::Tensor>& reps;
  OursSizes sizes;
  int64_t m;
  at::Tensor pool_index, init_index;  // the real images the bases are fitted on; the first m start the set
  bool joint_approximation;

  at::Tensor normalised(const at::Tensor& index) const {
    return data::normalize(splits.train.images.index_select(0, index), splits.norm);
  }
  // Pre-fits every q_t on the pool's real pairs: what q_t reads of view 0 -> of view t.
  ApproximationNets prefit_approximation(int64_t dim, const ViewTargets& of_view, io::RunLog& log) const {
    ApproximationNets approx(sizes.views, dim, c.approximation.hidden);
    std::vector<at::Tensor> targets;
    for (size_t v = 1; v < views.size(); ++v) targets.push_back(of_view(v, pool_index));
    ApproximationFitOptions fit;
    fit.steps = c.approximation.fit_steps;
    fit.seed = c.runtime.seed;
    const auto mse = fit_approximation(approx, of_view(0, pool_index), targets, fit);
    std::ostringstream line;
    line << "distill: approximation networks pre-fitted on " << pool_index.size(0) << " real images, MSE per view:";
    for (double e : mse) line << " " << e;
    log.say(line.str());
    return approx;
  }
  // Without approximation networks every view's target is stored: of_view(v) of the starting
  // images for every v, view-major.
  at::Tensor every_view(const ViewTargets& of_view) const {
    std::vector<at::Tensor> all;
    for (size_t v = 0; v < views.size(); ++v) all.push_back(of_view(v, init_index));
    return torch::cat(all);
  }
};

// krrst (SPEC 2): m real images drawn at random, with their teacher targets, as free tensors.
DistilledSet initial_krrst_set(const DistillConfig& c, const data::DatasetSplits& splits,
                               const std::vector<data::View>& views, const std::vector<at::Tensor>& reps,
                               at::Generator& gen, c10::Device device, io::RunLog& log) {
  const auto& train = splits.train;
  const int64_t n = train.size();
  const int64_t m = distilled_images(c, {train.channels(), train.height(), train.width()}, reps[0].size(1));
  if (m > n) throw ConfigError("--budget", "exceeds the " + std::to_string(n) + " source images");
  const at::Tensor index = torch::randperm(n, gen, torch::kLong).slice(0, 0, m);
  auto images = data::normalize(train.images.index_select(0, index), splits.norm).to(device).requires_grad_(true);
  auto targets = reps[0].index_select(0, index).clone().to(device).requires_grad_(true);
  DistilledSet set = DistilledSet::explicit_form(images, targets, {views.front()});
  const auto report = set.storage();
  log.say("distill: krrst stores " + std::to_string(m) + " images + targets = " +
          std::to_string(report.total_floats()) + " floats (" + std::to_string(report.image_equivalents()) +
          " image-equivalents; " +
          (c.count_targets ? "targets counted against the budget of " + std::to_string(c.budget)
                           : "KRR-ST counts it as " + std::to_string(m) + " images") +
          ")");
  return set;
}

// The ablation without parameterization: X_s and Y_s start as real images and their teacher
// targets, free tensors.
DistilledSet initial_free_set(const OursStart& s, c10::Device device, io::RunLog& log) {
  const ViewTargets reps_of_view = [&](size_t v, const at::Tensor& index) { return s.reps[v].index_select(0, index); };
  ApproximationNets approx{nullptr};
  at::Tensor targets;
  if (s.joint_approximation) {
    approx = s.prefit_approximation(s.reps[0].size(1), reps_of_view, log);
    approx->to(device);
    targets = reps_of_view(0, s.init_index);
  } else {
    targets = s.every_view(reps_of_view);
  }
  return DistilledSet::explicit_form(s.normalised(s.init_index).to(device).requires_grad_(true),
                                     targets.clone().to(device).requires_grad_(true), s.views, approx);
}

// The paper's form: PCA bases of the pool's images and representations, the first m images'
// coefficients, and (joint) pre-fitted approximation networks.
DistilledSet initial_parameterized_set(const OursStart& s, c10::Device device, io::RunLog& log) {
  const DistillConfig& c = s.c;
  const at::Tensor pool_reps = s.reps[0].index_select(0, s.pool_index);
  ParameterizedSet param = init_parameterized(s.normalised(s.pool_index), pool_reps, torch::arange(s.m, torch::kLong),
                                              c.parameterization, c.runtime.seed);
  // Coefficients of each view's real representations in the representation basis.
  const Pca rep_basis{param.rep_bases.detach(), param.rep_mean};
  const ViewTargets coeffs_of_view = [&](size_t v, const at::Tensor& index) {
    return project(s.reps[v].index_select(0, index), rep_basis);
  };
  ApproximationNets approx{nullptr};
  if (s.joint_approximation) {
    approx = s.prefit_approximation(c.parameterization.rep_bases, coeffs_of_view, log);
  } else if (s.views.size() > 1) {
    // Every view's target stored (the ablation, or until the end with approx_fit = after),
    // initialised from the teacher.
    param.rep_coeffs = s.every_view(coeffs_of_view).detach().requires_grad_(true);
  }
  auto to_device = [&](at::Tensor& t, bool trainable) { t = t.detach().to(device).requires_grad_(trainable); };
  to_device(param.image_bases, true);
  to_device(param.image_coeffs, true);
  to_device(param.rep_bases, true);
  to_device(param.rep_coeffs, true);
  to_device(param.image_mean, false);
  to_device(param.rep_mean, false);
  if (approx) approx->to(device);
  return DistilledSet::parameterized_form(std::move(param), approx, s.views);
}

}  // namespace

// The starting distilled set of either method (SPEC 2 for krrst, SPEC 3-5 for ours).
DistilledSet initial_set(const DistillConfig& c, const data::DatasetSplits& splits,
                         const std::vector<data::View>& views, const std::vector<at::Tensor>& reps,
                         at::Generator& gen, c10::Device device, io::RunLog& log) {
  if (c.method == Method::krrst) return initial_krrst_set(c, splits, views, reps, gen, device, log);
  const auto& train = splits.train;
  const int64_t n = train.size();
  const OursSizes sizes = ours_sizes(c, {train.channels(), train.height(), train.width()}, reps[0].size(1), views);
  const int64_t m = max_images_within_budget(sizes, c.budget);
  log.say("distill: ours" + std::string(c.parameterization.enabled ? "" : " without parameterization") +
          " stores m = " + std::to_string(m) + " images within a budget of " + std::to_string(c.budget) + ":\n" +
          ours_storage(sizes, m).table());
  // approx_fit = after: every view's targets free until the networks replace them at the end.
  const bool joint_approximation = sizes.approximation && c.approximation.fit == ApproxFit::joint;
  if (sizes.approximation && !joint_approximation)
    log.say("distill: every view's targets stay free during distillation; the approximation networks are fitted "
            "to them at the end (approx_fit = after)");
  const at::Tensor order = torch::randperm(n, gen, torch::kLong);
  const at::Tensor pool_index = order.slice(0, 0, std::min(n, std::max(c.parameterization.pca_pool, m)));
  const OursStart s{c, splits, views, reps, sizes, m, pool_index, pool_index.slice(0, 0, m), joint_approximation};
  return c.parameterization.enabled ? initial_parameterized_set(s, device, log) : initial_free_set(s, device, log);
}

}  // namespace ssdd::distill
