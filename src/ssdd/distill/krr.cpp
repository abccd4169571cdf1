// SPEC section 2, steps 3-5.
#include "ssdd/distill/krr.h"

#include <cmath>

#include <torch/autograd.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/models/onednn_sgemm.h"

namespace ssdd::distill {

at::Tensor with_bias_column(const at::Tensor& features) {
  return torch::cat({features, torch::ones({features.size(0), 1}, features.options())}, 1);
}

// lambda_max(A) is at least any Rayleigh quotient: the largest diagonal entry, and
// 1^T A 1 / m, which catches the large mean direction that features after a ReLU share.
// lambda_min(A) is at most min_i L_ii^2, since L_ii^2 = 1 / ((A_1..i)^-1)_ii (A_1..i the
// leading i x i block) is at least lambda_min(A_1..i), itself at least lambda_min(A).
at::Tensor condition_estimate(const at::Tensor& kernel, const at::Tensor& factor) {
  const at::Tensor largest = torch::maximum(kernel.diagonal().max(), kernel.sum() / kernel.size(0));
  return largest.to(at::kDouble) / factor.diagonal().min().to(at::kDouble).square();
}

namespace {

// The products below by oneDNN's sgemm where it takes them (float CPU, oneDNN linked): LibTorch's
// BLAS may run AVX2 kernels on an AVX-512 CPU (models/onednn_sgemm.h), and its pthread pool
// is kept at one thread (core/runtime.h, set_threads). Transposed operands are read in place.
at::Tensor product(const at::Tensor& a, const at::Tensor& b) {
  return models::onednn_mm_takes(a, b) ? models::onednn_mm(a, b) : a.matmul(b);
}

// Steps 4-5's factorisation, without a graph (lambda and the factor are constants of the
// closed-form gradient below): L with L L^T = K_ss + lambda I, lambda = ridge * trace(K_ss).
at::Tensor kernel_factor(const at::Tensor& fs, const KrrOptions& options) {
  torch::NoGradGuard no_grad;
  at::Tensor a = product(fs, fs.t());                               // step 4: K_ss
  a.diagonal().add_(options.ridge * a.trace());                     // + lambda I
  auto [factor, info] = torch::linalg_cholesky_ex(a);              // step 5: one factorisation
  if (factor.is_cuda()) {
    // Reading `info` would stall the GPU every step. A failed factorisation instead
    // turns the prediction into NaN, which the caller's deferred loss check reports.
    factor = torch::where(info.eq(0), factor, torch::full({}, NAN, factor.options()));
  } else if (const int64_t failed_at = info.item<int64_t>(); failed_at != 0) {
    throw NumericsError("distill", options.iteration,
                        "the kernel K_ss + lambda I is singular or not positive definite (Cholesky failed at "
                        "column " + std::to_string(failed_at) + "); duplicate distilled images or a zero ridge");
  }
  if (options.health) *options.health = {fs.size(0), fs.size(1), condition_estimate(a, factor)};
  return factor;
}

// Kernel ridge regression with its gradient written out. Autograd through the Cholesky
// factor costs O(s^3) again in the backward (half the outer step's backward at s = 1140
// views); the closed form below needs one more solve and products of size s x p x d.
// With A = F_s F_s^T + lambda I (lambda held constant), alpha = A^-1 Y_s and
// P = F_t F_s^T alpha, for G = dL/dP and M = G^T F_t (d x p):
//   dY_s = A^-1 F_s M^T
//   dF_s = alpha (M - dY_s^T F_s) - dY_s (alpha^T F_s)
//   dF_t = G (alpha^T F_s)
class KrrFunction : public torch::autograd::Function<KrrFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& fs, const at::Tensor& ft,
                            const at::Tensor& ys, const at::Tensor& factor) {
    const int64_t s = fs.size(0), p = fs.size(1), r = ft.size(0), d = ys.size(1);
    const at::Tensor alpha = torch::cholesky_solve(ys, factor);
    // K_ts alpha, in the cheaper order: (F_t F_s^T) alpha or F_t (F_s^T alpha).
    const bool kernel_first = r * s * (p + d) < p * d * (s + r);
    at::Tensor prediction = kernel_first ? product(product(ft, fs.t()), alpha) : product(ft, product(fs.t(), alpha));
    ctx->save_for_backward({fs, ft, factor, alpha});
    ctx->saved_data["ft_grad"] = ft.requires_grad();
    return prediction;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &fs = saved[0], &ft = saved[1], &factor = saved[2], &alpha = saved[3];
    const at::Tensor& g = grad_outputs[0];
    const at::Tensor m = product(g.t(), ft);                            // d x p
    const at::Tensor d_ys = torch::cholesky_solve(product(fs, m.t()), factor);
    const at::Tensor alpha_fs = product(alpha.t(), fs);                 // d x p
    const at::Tensor d_fs = product(alpha, m - product(d_ys.t(), fs)) - product(d_ys, alpha_fs);
    const at::Tensor d_ft = ctx->saved_data["ft_grad"].toBool() ? product(g, alpha_fs) : at::Tensor();
    return {d_fs, d_ft, d_ys, at::Tensor()};
  }
};

}  // namespace

at::Tensor krr_predict(const at::Tensor& feat_s, const at::Tensor& feat_t, const at::Tensor& targets_s,
                       const KrrOptions& options) {
  // float64: the casts are ordinary autograd operations, so the closed-form gradient runs
  // in double and reaches the features cast back to their own type.
  const auto type = options.float64 ? at::kDouble : feat_s.scalar_type();
  const at::Tensor fs = with_bias_column(feat_s).to(type);  // step 3: the bias column
  const at::Tensor ft = with_bias_column(feat_t).to(type);
  const at::Tensor prediction = KrrFunction::apply(fs, ft, targets_s.to(type), kernel_factor(fs, options));
  return prediction.to(feat_s.scalar_type());
}

at::Tensor krr_predict(const at::Tensor& feat_s, const at::Tensor& feat_t, const at::Tensor& targets_s, double ridge,
                       long long iteration) {
  KrrOptions options;
  options.ridge = ridge;
  options.iteration = iteration;
  return krr_predict(feat_s, feat_t, targets_s, options);
}

}  // namespace ssdd::distill
