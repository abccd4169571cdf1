// Approximation networks (SPEC section 5): for every non-identity view t, a small MLP
// q_t predicts the representation coefficients of the augmented view from those of the
// image itself, so only un-augmented targets are stored:  Y_s^(t) = q_t(C_y) B_y + mu_y.
// q_t predicts the shift the augmentation causes:  q_t(c) = c + W2 relu(W1 c + b1) + b2.
#pragma once
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

namespace ssdd::distill {

class ApproximationNetsImpl : public torch::nn::Module {
 public:
  // views: T, the identity included (T - 1 networks); rep_bases: k_y.
  ApproximationNetsImpl(int64_t views, int64_t rep_bases, int64_t hidden);
  // Coefficients of view `view` (1 <= view < T) from the identity's coefficients.
  at::Tensor forward(const at::Tensor& coeffs, int64_t view);
  // All T views stacked view-major (T*m x k_y); view 0 is `coeffs` itself.
  at::Tensor all_views(const at::Tensor& coeffs);
  int64_t views() const { return views_; }
  int64_t hidden() const { return hidden_; }
  int64_t floats() const;  // stored floats: weights and biases of every network
  // Parameters of q_view alone (1 <= view < T), e.g. for a per-view optimizer.
  std::vector<at::Tensor> net_parameters(int64_t view) const;
 private:
  int64_t views_, rep_bases_, hidden_;
  torch::nn::ModuleList nets_;
};
TORCH_MODULE(ApproximationNets);

struct ApproximationFitOptions {
  int64_t steps = 500;
  double lr = 1e-2;       // Adam
  int64_t batch_size = 0; // 0: full batch
  uint64_t seed = 0;
};

// Fits every q_t on pairs: `coeffs` (n x k_y) of the identity view and `view_coeffs[t-1]`
// (n x k_y) of view t, by mean squared error. Returns the final MSE per network.
std::vector<double> fit_approximation(ApproximationNets& nets, const at::Tensor& coeffs,
                                      const std::vector<at::Tensor>& view_coeffs,
                                      const ApproximationFitOptions& options);

}  // namespace ssdd::distill
