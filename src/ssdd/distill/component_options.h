// The options of a distillation's components (SPEC sections 2-5): the pool of inner models,
// the parameterization of the set, and the approximation networks. A DistillConfig holds one
// of each, and the stages above distill/ read configs, so they live apart from the
// components' own headers (which pull in LibTorch).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/core/choice.h"

namespace ssdd::distill {

// The pool of inner models (model_pool.h), apart from the pool itself. Nested in JSON
// ("pool": {...}).
struct PoolOptions {
  std::string arch = "convnet:64-64-64";  // KRR-ST: ConvNet-3 with batch norm
  int64_t size = 10;                      // M
  int64_t max_steps = 1000;               // Z
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 1e-3;
  // S: each outer step matches S pool models (shard s samples among members i with
  // i % S == s) against S slices of the real batch and averages their gradients. 1 is
  // KRR-ST's step. The ranks of a job share the shards (issue 26), so a run gives the same
  // set on any number of processes up to S.
  int64_t shards = 1;
};

// `ours`' images and targets as bases + coefficients (parameterization.h). Flat in JSON:
// parameterization, image_bases, rep_bases, base_scale, random_bases, pca_pool.
struct ParameterizationOptions {
  // Ablation when false: images and targets stored as free tensors (m from the same budget),
  // the views and the approximation networks (then on d, not k_y) kept.
  bool enabled = true;
  int64_t image_bases = 64;  // k_x
  int64_t rep_bases = 32;    // k_y
  int64_t base_scale = 2;    // image bases stored at H/s x W/s
  bool random_bases = false; // ablation: random orthonormal bases instead of PCA
  int64_t pca_pool = 10000;  // real images the bases are fitted on
};

// When the approximation networks learn (SPEC 5):
//   after  (default) distillation keeps every view's targets free (m still sized for the
//          networks); afterwards each q_t is fitted to map the identity's learned
//          coefficients to view t's, and only the identity's are kept. The paper's
//          Algorithm 1 ends with this fit; the one public re-implementation does the same.
//   joint  pre-fitted on real pairs, trained with the set by the outer step, then re-fitted
//          on the teacher's view of the final images (the first reading of SPEC 5; the
//          re-fit costs alignment, docs/evaluation.md, so set approx_refit_steps = 0).
enum class ApproxFit { after, joint };
const ChoiceNames<ApproxFit>& choice_names(ApproxFit);
SSDD_CHOICE_JSON(ApproxFit)

// `ours`' approximation networks q_t (approximation.h). Flat in JSON: approximation,
// approx_hidden, approx_fit, approx_fit_steps, approx_refit_steps.
struct ApproximationOptions {
  bool enabled = true;        // false: store every view's targets (ablation)
  int64_t hidden = 16;        // hidden width of each q_t
  ApproxFit fit = ApproxFit::after;
  int64_t fit_steps = 500;    // after: the final fit; joint: the pre-fit on real data
  int64_t refit_steps = 300;  // joint only: re-fit steps after distillation (0: off)
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PoolOptions, arch, size, max_steps, lr, momentum, weight_decay, shards)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ParameterizationOptions, enabled, image_bases, rep_bases, base_scale,
                                                random_bases, pca_pool)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ApproximationOptions, enabled, hidden, fit, fit_steps, refit_steps)

}  // namespace ssdd::distill
