// SPEC section 2, steps 3-5.
#include "ssdd/distill/krr.h"

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
  if (info.item<int64_t>() != 0)
    throw NumericsError("distill", iteration,
                        "the kernel K_ss + lambda I is singular or not positive definite (Cholesky failed at "
                        "column " + std::to_string(info.item<int64_t>()) + "); duplicate distilled images or a "
                        "zero ridge");
  const at::Tensor alpha = torch::cholesky_solve(targets_s, factor);
  return k_ts.matmul(alpha);
}

}  // namespace ssdd::distill
