#include "ssdd/teacher/barlow_twins.h"

#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/models/batch_norm.h"

namespace ssdd::teacher {

at::Tensor barlow_twins_loss(const at::Tensor& z1, const at::Tensor& z2, double lambda, double scale) {
  if (z1.sizes() != z2.sizes() || z1.dim() != 2 || z1.size(0) < 2)
    throw Error("barlow_twins_loss: expected two N x D embeddings with N >= 2");
  const auto n = static_cast<double>(z1.size(0));
  auto standardise = [](const at::Tensor& z) {
    const auto mean = z.mean(0, true);
    const auto var = z.var(0, /*unbiased=*/false, true);
    return (z - mean) / torch::sqrt(var + 1e-5);  // BatchNorm1d's epsilon
  };
  const auto c = standardise(z1).t().matmul(standardise(z2)) / n;
  const auto diagonal = c.diagonal();
  const auto on_diag = (diagonal - 1).pow(2).sum();
  const auto off_diag = c.pow(2).sum() - diagonal.pow(2).sum();
  return scale * (on_diag + lambda * off_diag);
}

torch::nn::Sequential make_projector(int64_t in_features, const std::vector<int64_t>& widths) {
  if (widths.empty()) throw ConfigError("projector", "needs at least one width");
  torch::nn::Sequential mlp;
  int64_t in = in_features;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    mlp->push_back(torch::nn::Linear(torch::nn::LinearOptions(in, widths[i]).bias(false)));
    mlp->push_back(models::SyncBatchNorm1d(widths[i]));
    mlp->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(true)));
    in = widths[i];
  }
  mlp->push_back(torch::nn::Linear(torch::nn::LinearOptions(in, widths.back()).bias(false)));
  return mlp;
}

BarlowTwinsImpl::BarlowTwinsImpl(models::Encoder backbone_, const std::vector<int64_t>& projector_widths)
    : backbone(register_module("backbone", std::move(backbone_))),
      projector(register_module("projector", make_projector(backbone->feature_dim(), projector_widths))) {}

at::Tensor BarlowTwinsImpl::forward(const at::Tensor& x) { return projector->forward(backbone->features(x)); }

}  // namespace ssdd::teacher
