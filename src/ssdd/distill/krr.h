// Kernel ridge regression of SPEC section 2, steps 3-5, and nothing else.
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::distill {

// Features with the constant-1 column appended (the regression's bias).
at::Tensor with_bias_column(const at::Tensor& features);

// How well posed one step's kernel solve is. K_ss has rank at most `features`, so with
// more rows than features it is singular but for the ridge.
struct KernelHealth {
  int64_t rows = 0;      // m, the distilled views in K_ss
  int64_t features = 0;  // p + 1, the kernel features with the bias column
  // A lower bound on cond(K_ss + lambda I) (condition_estimate), a float64 scalar left on
  // the features' device: reading it is the caller's choice, since on a GPU that is a sync.
  at::Tensor condition;
};

struct KrrOptions {
  double ridge = 1e-6;       // lambda = ridge * trace(K_ss)
  long long iteration = -1;  // named by a NumericsError
  // The kernels, the Cholesky factor and the solve in float64, the prediction cast back to
  // the features' type (krr_precision = "float64"); otherwise in the features' own type.
  bool float64 = false;
  KernelHealth* health = nullptr;  // when set, receives the kernel's size and condition
};

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
                       const KrrOptions& options);
at::Tensor krr_predict(const at::Tensor& feat_s, const at::Tensor& feat_t, const at::Tensor& targets_s,
                       double ridge = 1e-6, long long iteration = -1);

// A lower bound on the condition number of the positive definite `kernel` = L L^T from its
// Cholesky factor L, in O(m^2) beside the factorisation's O(m^3): a float64 scalar on the
// kernel's device. Exact for a diagonal kernel; it can fall short of the true value (by
// about 1.5x on ReLU features in our measurements, where the diagonal of L alone,
// (max L_ii / min L_ii)^2, fell short by 1000x).
at::Tensor condition_estimate(const at::Tensor& kernel, const at::Tensor& factor);

}  // namespace ssdd::distill
