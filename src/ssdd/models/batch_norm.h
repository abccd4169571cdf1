// Batch norm whose training statistics can span the ranks of a job (PyTorch's SyncBatchNorm).
// Every model of the zoo and the Barlow Twins projector build theirs from these, so that a
// data-parallel teacher (issue 26) normalises each layer over the global batch, as one process
// with that batch does. Without a reducer they compute what LibTorch's BatchNorm1d/2d compute
// (the same functional call), with the same parameters, buffers and names, so checkpoints,
// imports and torchvision's state dicts are unchanged.
// (Not subclasses of LibTorch's modules: libtorch does not export the base's virtual methods
// that a subclass's vtables name.)
#pragma once
#include <functional>
#include <ostream>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/options/batchnorm.h>
#include <torch/nn/pimpl.h>

namespace ssdd::models {

// Sums a tensor over the ranks of a job, differentiably: its backward sums the gradients over
// the ranks too (train/autograd_collectives.h makes one from a process group).
using SumAcrossRanks = std::function<at::Tensor(const at::Tensor&)>;

class SyncBatchNormImplBase : public torch::nn::Module {
 public:
  // `input_dims`: the dimensions of an input (2 or 3 for 1d, 4 for 2d), checked in forward.
  SyncBatchNormImplBase(const torch::nn::BatchNormOptions& options, std::vector<int64_t> input_dims);
  at::Tensor forward(const at::Tensor& x);
  // Counts one training batch in num_batches_tracked and returns the running statistics' update
  // factor: the momentum, or 1 / batches (a cumulative average) without one. For callers that
  // normalise themselves (models/norm_relu_pool.h).
  double count_batch();
  void pretty_print(std::ostream& stream) const override;

  torch::nn::BatchNormOptions options;
  at::Tensor weight, bias, running_mean, running_var, num_batches_tracked;  // LibTorch's names
  SumAcrossRanks sum_across_ranks;  // empty (one process): LibTorch's batch norm

 private:
  // Training-mode statistics over the rows of every rank: per-channel mean and biased variance
  // from the summed counts, sums and centred squares (two reductions, as one process's two-pass
  // statistics); running statistics updated as LibTorch updates them.
  at::Tensor forward_across_ranks(const at::Tensor& input);
  std::vector<int64_t> input_dims_;
};

class SyncBatchNorm1dImpl : public SyncBatchNormImplBase {
 public:
  explicit SyncBatchNorm1dImpl(const torch::nn::BatchNormOptions& options) : SyncBatchNormImplBase(options, {2, 3}) {}
};
TORCH_MODULE(SyncBatchNorm1d);

class SyncBatchNorm2dImpl : public SyncBatchNormImplBase {
 public:
  explicit SyncBatchNorm2dImpl(const torch::nn::BatchNormOptions& options) : SyncBatchNormImplBase(options, {4}) {}
};
TORCH_MODULE(SyncBatchNorm2d);

// Gives every batch norm in `module` the reducer (an empty one: back to one process's).
// Throws ssdd::ConfigError naming `what` if one of them is LibTorch's own, which could not
// follow: the ranks would then train another model than one process does.
void synchronise_batch_norms(torch::nn::Module& module, const SumAcrossRanks& sum, const std::string& what);

}  // namespace ssdd::models
