// Kernel ridge regression of SPEC section 2, steps 3-5, and nothing else.
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::distill {

// Features with the constant-1 column appended (the regression's bias).
at::Tensor with_bias_column(const at::Tensor& features);

// Prediction of the real batch's targets from the distilled set by kernel ridge
// regression on linear kernels of the (bias-augmented) features:
//   K_ss = F_s F_s^T, K_ts = F_t F_s^T, lambda = ridge * trace(K_ss) (held constant),
//   prediction = K_ts (K_ss + lambda I)^-1 Y_s, solved through one Cholesky factor.
// feat_s: m x p (may carry gradient), feat_t: n x p, targets_s: m x d.
// Throws NumericsError("distill", iteration, ...) when K_ss + lambda I is not positive
// definite (e.g. duplicate distilled images with a zero ridge); on a GPU the prediction
// becomes NaN instead (no per-call sync). The gradient is written out in closed form
// (first order only: no double backward).
at::Tensor krr_predict(const at::Tensor& feat_s, const at::Tensor& feat_t, const at::Tensor& targets_s,
                       double ridge = 1e-6, long long iteration = -1);

}  // namespace ssdd::distill
