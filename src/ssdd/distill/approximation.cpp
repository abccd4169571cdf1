#include "ssdd/distill/approximation.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <string>

#include "ssdd/core/error.h"
#include "ssdd/distill/storage.h"

namespace ssdd::distill {
namespace {

constexpr const char* kWhere = "approximation networks";

void check_coeffs(const at::Tensor& c, int64_t rep_bases, const std::string& what) {
  if (!c.defined() || c.dim() != 2 || c.size(1) != rep_bases)
    throw Error(std::string(kWhere) + ": " + what + " must be n x " + std::to_string(rep_bases) +
                (c.defined() ? ", got " + std::to_string(c.dim()) + "-d with last size " +
                                   std::to_string(c.dim() > 0 ? c.size(-1) : 0)
                             : ", got an undefined tensor"));
}

}  // namespace

ApproximationNetsImpl::ApproximationNetsImpl(int64_t views, int64_t rep_bases, int64_t hidden)
    : views_(views), rep_bases_(rep_bases), hidden_(hidden) {
  if (views < 1) throw ConfigError(kWhere, "need at least one view (the identity), got " + std::to_string(views));
  if (rep_bases < 1) throw ConfigError(kWhere, "k_y must be positive, got " + std::to_string(rep_bases));
  if (views > 1 && hidden < 1)
    throw ConfigError(kWhere, "hidden width must be positive, got " + std::to_string(hidden));
  nets_ = register_module("nets", torch::nn::ModuleList());
  for (int64_t t = 1; t < views; ++t) {
    torch::nn::Linear last(hidden, rep_bases);
    {
      // Zero output layer: an untrained q_t is the identity map, a sensible prior since
      // a rotation moves the representation only moderately.
      torch::NoGradGuard no_grad;
      last->weight.zero_();
      last->bias.zero_();
    }
    nets_->push_back(torch::nn::Sequential(torch::nn::Linear(rep_bases, hidden), torch::nn::ReLU(), last));
  }
}

at::Tensor ApproximationNetsImpl::forward(const at::Tensor& coeffs, int64_t view) {
  if (view < 1 || view >= views_)
    throw Error(std::string(kWhere) + ": view " + std::to_string(view) + " out of range [1, " +
                std::to_string(views_ - 1) + "]");
  check_coeffs(coeffs, rep_bases_, "coefficients");
  return coeffs + nets_->ptr<torch::nn::SequentialImpl>(static_cast<size_t>(view - 1))->forward(coeffs);
}

at::Tensor ApproximationNetsImpl::all_views(const at::Tensor& coeffs) {
  check_coeffs(coeffs, rep_bases_, "coefficients");
  std::vector<at::Tensor> parts{coeffs};
  for (int64_t t = 1; t < views_; ++t) parts.push_back(forward(coeffs, t));
  return torch::cat(parts, 0);
}

int64_t ApproximationNetsImpl::floats() const {
  return (views_ - 1) * approx_net_floats(rep_bases_, hidden_);  // the storage accounting's count
}

std::vector<double> fit_approximation(ApproximationNets& nets, const at::Tensor& coeffs,
                                      const std::vector<at::Tensor>& view_coeffs,
                                      const ApproximationFitOptions& options) {
  const int64_t k = coeffs.defined() && coeffs.dim() == 2 ? coeffs.size(1) : -1;
  check_coeffs(coeffs, k, "coefficients");
  if (static_cast<int64_t>(view_coeffs.size()) != nets->views() - 1)
    throw Error(std::string(kWhere) + ": " + std::to_string(nets->views() - 1) + " view targets expected, got " +
                std::to_string(view_coeffs.size()));
  if (options.steps < 0) throw ConfigError(kWhere, "steps must be >= 0");
  if (options.batch_size < 0) throw ConfigError(kWhere, "batch size must be >= 0");
  if (!(options.lr > 0)) throw ConfigError(kWhere, "learning rate must be positive");

  // Callers may be inside a no-grad region (e.g. after distillation); this fit needs autograd.
  torch::AutoGradMode grad_on(true);
  const int64_t n = coeffs.size(0);
  const auto params = nets->parameters();
  const auto device = params.empty() ? coeffs.device() : params.front().device();
  // Detached copies: the fit must not backpropagate into whatever produced the coefficients.
  const auto x = coeffs.detach().to(device, torch::kFloat);
  const int64_t batch = options.batch_size == 0 || options.batch_size >= n ? n : options.batch_size;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(options.seed);

  std::vector<double> final_mse;
  for (int64_t t = 1; t < nets->views(); ++t) {
    const auto& target_in = view_coeffs[static_cast<size_t>(t - 1)];
    check_coeffs(target_in, k, "view " + std::to_string(t) + " coefficients");
    if (target_in.size(0) != n)
      throw Error(std::string(kWhere) + ": view " + std::to_string(t) + " has " +
                  std::to_string(target_in.size(0)) + " rows, the identity " + std::to_string(n));
    const auto y = target_in.detach().to(device, torch::kFloat);
    auto net = nets->net_parameters(t);
    torch::optim::Adam adam(net, torch::optim::AdamOptions(options.lr));
    at::Tensor order;
    int64_t cursor = n;  // forces a fresh permutation at the first mini-batch step
    for (int64_t step = 0; step < options.steps; ++step) {
      at::Tensor xb = x, yb = y;
      if (batch < n) {
        if (cursor + batch > n) {  // new pass; the tail shorter than a batch is dropped
          order = torch::randperm(n, gen, torch::TensorOptions().dtype(torch::kLong)).to(device);
          cursor = 0;
        }
        const auto idx = order.slice(0, cursor, cursor + batch);
        cursor += batch;
        xb = x.index_select(0, idx);
        yb = y.index_select(0, idx);
      }
      adam.zero_grad();
      const auto loss = torch::mse_loss(nets->forward(xb, t), yb);
      const double value = loss.item<double>();
      if (!std::isfinite(value))
        throw NumericsError("approximation fit (view " + std::to_string(t) + ")", step, "non-finite loss");
      loss.backward();
      adam.step();
    }
    torch::NoGradGuard no_grad;
    final_mse.push_back(torch::mse_loss(nets->forward(x, t), y).item<double>());
  }
  return final_mse;
}

std::vector<at::Tensor> ApproximationNetsImpl::net_parameters(int64_t view) const {
  if (view < 1 || view >= views_)
    throw Error(std::string(kWhere) + ": view " + std::to_string(view) + " out of range [1, " +
                std::to_string(views_ - 1) + "]");
  return nets_->ptr(static_cast<size_t>(view - 1))->parameters();
}

}  // namespace ssdd::distill
