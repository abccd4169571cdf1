// SPEC section 2, steps 3-5.
#include "ssdd/distill/krr.h"

#include <cmath>

#include "ssdd/core/error.h"

namespace ssdd::distill {

at::Tensor with_bias_column(const at::Tensor& features) {
  return torch::cat({features, torch::ones({features.size(0), 1}, features.options())}, 1);
}

at::Tensor krr_predict(const at::Tensor& feat_s, const at::Tensor& feat_t, const at::Tensor& targets_s, double ridge,
                       long long iteration) {
  const at::Tensor fs = with_bias_column(feat_s);                   // step 3
  const at::Tensor ft = with_bias_column(feat_t);
  const at::Tensor k_ss = fs.matmul(fs.t());                        // step 4
  const at::Tensor k_ts = ft.matmul(fs.t());
  const at::Tensor lambda = ridge * k_ss.detach().trace();
  const at::Tensor regularised = k_ss + lambda * torch::eye(k_ss.size(0), k_ss.options());
  auto [factor, info] = torch::linalg_cholesky_ex(regularised);    // step 5: one factorisation
  if (factor.is_cuda()) {
    // Reading `info` would stall the GPU every step. A failed factorisation instead
    // turns the prediction into NaN, which the caller's deferred loss check reports.
    const at::Tensor alpha = torch::cholesky_solve(targets_s, factor);
    return k_ts.matmul(torch::where(info.eq(0), alpha, torch::full({}, NAN, alpha.options())));
  }
  const int64_t failed_at = info.item<int64_t>();
  if (failed_at != 0)
    throw NumericsError("distill", iteration,
                        "the kernel K_ss + lambda I is singular or not positive definite (Cholesky failed at "
                        "column " + std::to_string(failed_at) + "); duplicate distilled images or a zero ridge");
  const at::Tensor alpha = torch::cholesky_solve(targets_s, factor);
  return k_ts.matmul(alpha);
}

}  // namespace ssdd::distill
