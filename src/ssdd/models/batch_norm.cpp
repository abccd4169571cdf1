#include "ssdd/models/batch_norm.h"

#include <algorithm>

#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace ssdd::models {

SyncBatchNormImplBase::SyncBatchNormImplBase(const torch::nn::BatchNormOptions& options_,
                                             std::vector<int64_t> input_dims)
    : options(options_), input_dims_(std::move(input_dims)) {
  const int64_t n = options.num_features();
  // LibTorch's initialisation: unit scale, zero shift, zero mean, unit variance.
  if (options.affine()) {
    weight = register_parameter("weight", torch::ones({n}));
    bias = register_parameter("bias", torch::zeros({n}));
  }
  if (options.track_running_stats()) {
    running_mean = register_buffer("running_mean", torch::zeros({n}));
    running_var = register_buffer("running_var", torch::ones({n}));
    num_batches_tracked = register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
  }
}

at::Tensor SyncBatchNormImplBase::forward(const at::Tensor& x) {
  if (std::find(input_dims_.begin(), input_dims_.end(), x.dim()) == input_dims_.end())
    throw Error("batch norm: expected an input of " + std::to_string(input_dims_.back()) + " dimensions, found " +
                     std::to_string(x.dim()));
  const bool track = options.track_running_stats();
  if (is_training() && sum_across_ranks) return forward_across_ranks(x);
  const double factor = is_training() && track ? count_batch() : options.momentum().value_or(0.0);
  return torch::batch_norm(x, weight, bias, running_mean, running_var, is_training() || !track, factor, options.eps(),
                           at::globalContext().userEnabledCuDNN());
}

double SyncBatchNormImplBase::count_batch() {  // as LibTorch's module does
  torch::NoGradGuard no_grad;
  num_batches_tracked += 1;
  return options.momentum() ? *options.momentum() : 1.0 / num_batches_tracked.item<double>();
}

at::Tensor SyncBatchNormImplBase::forward_across_ranks(const at::Tensor& input) {
  // Sums over a batch (and the count riding with them) need fp32 even under bf16 autocast; the
  // output keeps the input's type, as LibTorch's batch norm does, so N ranks run the layers
  // after it in the precision one process does.
  const bool low = input.scalar_type() == at::kBFloat16 || input.scalar_type() == at::kHalf;
  const at::Tensor x = low ? input.to(at::kFloat) : input;
  const int64_t channels = x.size(1);
  std::vector<int64_t> reduced{0}, per_channel(x.dim(), 1);
  for (int64_t d = 2; d < x.dim(); ++d) reduced.push_back(d);
  per_channel[1] = channels;
  // The count rides with the sums: the ranks' shares of a batch need not be equal.
  const auto local_count = torch::full({1}, static_cast<double>(x.numel() / channels), x.options());
  const at::Tensor sums = sum_across_ranks(torch::cat({x.sum(reduced), local_count}));
  const at::Tensor count = sums.narrow(0, channels, 1).detach();
  const at::Tensor mean = sums.narrow(0, 0, channels) / count;
  const at::Tensor centred = x - mean.view(per_channel);
  const at::Tensor var = sum_across_ranks(centred.pow(2).sum(reduced)) / count;  // biased, as it normalises
  at::Tensor y = centred * torch::rsqrt(var + options.eps()).view(per_channel);
  if (options.affine()) y = y * weight.view(per_channel) + bias.view(per_channel);
  if (options.track_running_stats()) {
    torch::NoGradGuard no_grad;
    const double factor = count_batch();
    const at::Tensor unbiased = var * count / (count - 1).clamp_min(1);  // LibTorch keeps the unbiased one
    running_mean.mul_(1 - factor).add_(mean.detach(), factor);
    running_var.mul_(1 - factor).add_(unbiased, factor);
  }
  return low ? y.to(input.scalar_type()) : y;
}

void SyncBatchNormImplBase::pretty_print(std::ostream& stream) const {
  stream << "ssdd::models::SyncBatchNorm(" << options.num_features() << ", eps=" << options.eps() << ", momentum=";
  if (options.momentum()) stream << *options.momentum(); else stream << "None";
  stream << ", affine=" << options.affine() << ", track_running_stats=" << options.track_running_stats() << ")";
}

void synchronise_batch_norms(torch::nn::Module& module, const SumAcrossRanks& sum, const std::string& what) {
  for (const auto& item : module.named_modules("", /*include_self=*/true)) {
    const auto& child = item.value();
    if (auto* ours = child->as<SyncBatchNormImplBase>()) {
      ours->sum_across_ranks = sum;
    } else if (child->as<torch::nn::BatchNorm1dImpl>() || child->as<torch::nn::BatchNorm2dImpl>() ||
               child->as<torch::nn::BatchNorm3dImpl>()) {
      throw ConfigError(what, "its batch norm '" + item.key() + "' cannot share its statistics among the ranks, so a "
                              "job of several ranks would train another model than one process: run it as one process");
    }
  }
}

}  // namespace ssdd::models
