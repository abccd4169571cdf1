// Barlow Twins (Zbontar et al., 2021): a backbone and a projector MLP trained so that
// the cross-correlation of two views' batch-standardised embeddings is the identity.
#pragma once
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

#include "ssdd/models/encoder.h"

namespace ssdd::teacher {

// loss = scale * ( sum_i (1 - C_ii)^2 + lambda * sum_{i != j} C_ij^2 ),
// C = z1n^T z2n / N, with zkn the embeddings standardised over the batch (biased std,
// as an affine-free batch norm does).
at::Tensor barlow_twins_loss(const at::Tensor& z1, const at::Tensor& z2, double lambda, double scale);

// Projector: [Linear(no bias) -> BatchNorm1d -> ReLU] for every width but the last,
// then Linear(no bias) to the last width. widths {2048, 2048, 2048} is the CIFAR setting.
torch::nn::Sequential make_projector(int64_t in_features, const std::vector<int64_t>& widths);

class BarlowTwinsImpl : public torch::nn::Module {
 public:
  BarlowTwinsImpl(models::Encoder backbone, const std::vector<int64_t>& projector_widths);
  // Embeddings of a batch of (normalised) views.
  at::Tensor forward(const at::Tensor& x);
  models::Encoder backbone;
  torch::nn::Sequential projector{nullptr};
};
TORCH_MODULE(BarlowTwins);

}  // namespace ssdd::teacher
