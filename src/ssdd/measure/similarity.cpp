#include "ssdd/measure/similarity.h"

#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::measure {
namespace {

void check_pair(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (!a.defined() || !b.defined() || a.dim() != 2 || b.dim() != 2)
    throw Error(std::string(what) + ": expected two n x d matrices");
  if (a.size(0) != b.size(0))
    throw Error(std::string(what) + ": " + std::to_string(a.size(0)) + " rows against " +
                std::to_string(b.size(0)));
  if (a.size(0) < 2) throw Error(std::string(what) + ": needs at least two rows");
}

}  // namespace

double r_squared(const at::Tensor& pred, const at::Tensor& target) {
  check_pair(pred, target, "R^2");
  if (pred.size(1) != target.size(1))
    throw Error("R^2: prediction has " + std::to_string(pred.size(1)) + " dimensions, target " +
                std::to_string(target.size(1)));
  torch::NoGradGuard no_grad;
  const auto p = pred.detach().to(torch::kCPU, torch::kDouble);
  const auto y = target.detach().to(torch::kCPU, torch::kDouble);
  const double sse = (p - y).pow(2).sum().item<double>();
  const double sst = (y - y.mean(0, true)).pow(2).sum().item<double>();
  if (!(sst > 0)) throw Error("R^2: the target is constant (zero total variance)");
  return 1.0 - sse / sst;
}

double linear_cka(const at::Tensor& a, const at::Tensor& b) {
  check_pair(a, b, "CKA");
  torch::NoGradGuard no_grad;
  auto x = a.detach().to(torch::kCPU, torch::kDouble);
  auto y = b.detach().to(torch::kCPU, torch::kDouble);
  x = x - x.mean(0, true);
  y = y - y.mean(0, true);
  // Feature-space form: d x d products only, never the n x n Gram matrices.
  const double cross = y.t().matmul(x).pow(2).sum().item<double>();
  const double xx = x.t().matmul(x).norm().item<double>();
  const double yy = y.t().matmul(y).norm().item<double>();
  if (!(xx > 0) || !(yy > 0)) return 0.0;
  return cross / (xx * yy);
}

}  // namespace ssdd::measure
