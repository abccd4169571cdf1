#include "ssdd/models/block_tail_kernels.h"

#include <torch/torch.h>

namespace ssdd::models::block_tail {

at::Tensor empty_pooled(const Map& m, const at::TensorOptions& options) {
  return at::empty({m.n, m.c, m.pooled_h(), m.pooled_w()}, options.memory_format(kChannelsLast));
}

std::vector<float> floats(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

Terms plain_terms(int64_t channels) {
  const auto n = static_cast<size_t>(channels);
  const std::vector<float> ones(n, 1.0f), zeros(n, 0.0f);
  return {ones, zeros, zeros, ones, ones, zeros, zeros};
}

Terms batch_norm_terms(const std::vector<double>& mean, const std::vector<double>& var, const at::Tensor& weight,
                       const at::Tensor& bias, double eps) {
  const std::vector<float> w = floats(weight), b = floats(bias);
  Terms t = plain_terms(static_cast<int64_t>(mean.size()));
  for (size_t c = 0; c < mean.size(); ++c) {
    const double invstd = 1.0 / std::sqrt(var[c] + eps);
    t.mean[c] = static_cast<float>(mean[c]);
    t.invstd[c] = static_cast<float>(invstd);
    t.scale[c] = static_cast<float>(w[c] * invstd);
    t.shift[c] = static_cast<float>(b[c] - mean[c] * w[c] * invstd);
  }
  return t;
}

void add_gradient_terms(Terms& t, const ChannelSums& sums, const at::Tensor& weight, double count) {
  const std::vector<float> w = floats(weight);
  for (size_t c = 0; c < w.size(); ++c) {
    const float coef = w[c] * t.invstd[c];
    const auto a = static_cast<float>(sums.first()[c] / count);
    const auto b = static_cast<float>(sums.second()[c] / count);
    t.coef[c] = coef;
    t.slope[c] = -coef * b * t.invstd[c];
    t.offset[c] = coef * (b * t.invstd[c] * t.mean[c] - a);
  }
}

std::pair<std::vector<double>, std::vector<double>> moments_from_sums(const ChannelSums& s, double count) {
  std::vector<double> mean = s.first(), var = s.second();
  for (size_t c = 0; c < mean.size(); ++c) {
    mean[c] /= count;
    var[c] = std::max(var[c] / count - mean[c] * mean[c], 0.0);
  }
  return {mean, var};
}

void update_running_statistics(at::Tensor running_mean, at::Tensor running_var, const std::vector<double>& mean,
                               const std::vector<double>& var, double count, double factor) {
  if (!running_mean.defined()) return;
  const at::Tensor batch_mean = torch::tensor(mean, torch::kDouble).to(running_mean.scalar_type());
  const at::Tensor batch_var =
      (torch::tensor(var, torch::kDouble) * (count / std::max(count - 1, 1.0))).to(running_var.scalar_type());
  running_mean.mul_(1 - factor).add_(batch_mean, factor);
  running_var.mul_(1 - factor).add_(batch_var, factor);
}

std::vector<at::Tensor> with_saved_terms(std::vector<at::Tensor> tensors, const Terms& t) {
  for (const auto* v : {&t.mean, &t.invstd, &t.scale, &t.shift}) tensors.push_back(torch::tensor(*v));
  return tensors;
}

Terms terms_from_saved(const at::Tensor& mean, const at::Tensor& invstd, const at::Tensor& scale,
                       const at::Tensor& shift) {
  Terms t = plain_terms(mean.numel());
  t.mean = floats(mean);
  t.invstd = floats(invstd);
  t.scale = floats(scale);
  t.shift = floats(shift);
  return t;
}

}  // namespace ssdd::models::block_tail
