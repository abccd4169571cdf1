// SPEC section 2, steps 3-5.
#include "ssdd/distill/krr.h"

#include <cmath>

#include <torch/autograd.h>

#include "ssdd/core/error.h"

namespace ssdd::distill {

at::Tensor with_bias_column(const at::Tensor& features) {
  return torch::cat({features, torch::ones({features.size(0), 1}, features.options())}, 1);
}

namespace {

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
                            const at::Tensor& ys, double ridge, int64_t iteration) {
    const int64_t s = fs.size(0), p = fs.size(1), r = ft.size(0), d = ys.size(1);
    at::Tensor a = fs.matmul(fs.t());                                 // step 4: K_ss
    a.diagonal().add_(ridge * a.trace());                             // + lambda I
    auto [factor, info] = torch::linalg_cholesky_ex(a);              // step 5: one factorisation
    at::Tensor alpha = torch::cholesky_solve(ys, factor);
    if (factor.is_cuda()) {
      // Reading `info` would stall the GPU every step. A failed factorisation instead
      // turns the prediction into NaN, which the caller's deferred loss check reports.
      alpha = torch::where(info.eq(0), alpha, torch::full({}, NAN, alpha.options()));
    } else if (const int64_t failed_at = info.item<int64_t>(); failed_at != 0) {
      throw NumericsError("distill", iteration,
                          "the kernel K_ss + lambda I is singular or not positive definite (Cholesky failed at "
                          "column " + std::to_string(failed_at) + "); duplicate distilled images or a zero ridge");
    }
    // K_ts alpha, in the cheaper order: (F_t F_s^T) alpha or F_t (F_s^T alpha).
    const bool kernel_first = r * s * (p + d) < p * d * (s + r);
    at::Tensor prediction = kernel_first ? ft.matmul(fs.t()).matmul(alpha) : ft.matmul(fs.t().matmul(alpha));
    ctx->save_for_backward({fs, ft, factor, alpha});
    ctx->saved_data["ft_grad"] = ft.requires_grad();
    return prediction;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &fs = saved[0], &ft = saved[1], &factor = saved[2], &alpha = saved[3];
    const at::Tensor& g = grad_outputs[0];
    const at::Tensor m = g.t().matmul(ft);                              // d x p
    const at::Tensor d_ys = torch::cholesky_solve(fs.matmul(m.t()), factor);
    const at::Tensor alpha_fs = alpha.t().matmul(fs);                  // d x p
    const at::Tensor d_fs = alpha.matmul(m - d_ys.t().matmul(fs)) - d_ys.matmul(alpha_fs);
    const at::Tensor d_ft = ctx->saved_data["ft_grad"].toBool() ? g.matmul(alpha_fs) : at::Tensor();
    return {d_fs, d_ft, d_ys, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor krr_predict(const at::Tensor& feat_s, const at::Tensor& feat_t, const at::Tensor& targets_s, double ridge,
                       long long iteration) {
  return KrrFunction::apply(with_bias_column(feat_s), with_bias_column(feat_t), targets_s, ridge,
                            static_cast<int64_t>(iteration));  // step 3: the bias column
}

}  // namespace ssdd::distill
