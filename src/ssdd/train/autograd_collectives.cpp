#include "ssdd/train/autograd_collectives.h"

#include <torch/torch.h>

namespace ssdd::train {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The group rides in the context as an integer: saved_data holds IValues, and the group
// outlives every graph a step builds.
void save_group(AutogradContext* ctx, ProcessGroup* group) {
  ctx->saved_data["group"] = static_cast<int64_t>(reinterpret_cast<intptr_t>(group));
}
ProcessGroup& saved_group(AutogradContext* ctx) {
  return *reinterpret_cast<ProcessGroup*>(static_cast<intptr_t>(ctx->saved_data["group"].toInt()));
}

at::Tensor summed(ProcessGroup& group, const at::Tensor& x) {
  std::vector<at::Tensor> tensors{x.clone(at::MemoryFormat::Contiguous)};  // one copy, reduced in place
  group.all_reduce_sum(tensors);
  return tensors[0];
}

struct SumAcrossRanks : torch::autograd::Function<SumAcrossRanks> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, ProcessGroup* group) {
    save_group(ctx, group);
    return summed(*group, x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    return {summed(saved_group(ctx), grad[0]), at::Tensor()};
  }
};

struct GatherRows : torch::autograd::Function<GatherRows> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& rows, ProcessGroup* group) {
    save_group(ctx, group);
    ctx->saved_data["rows"] = rows.size(0);
    return group->all_gather(rows);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad) {
    const int64_t rows = ctx->saved_data["rows"].toInt();
    return {grad[0].narrow(0, saved_group(ctx).rank() * rows, rows), at::Tensor()};
  }
};

}  // namespace

at::Tensor own_rows(const ProcessGroup& group, const at::Tensor& batch) {
  const int64_t share = batch.size(0) / group.size();
  return batch.narrow(0, group.rank() * share, share);
}

at::Tensor sum_across_ranks(ProcessGroup& group, const at::Tensor& x) { return SumAcrossRanks::apply(x, &group); }

at::Tensor gather_rows(ProcessGroup& group, const at::Tensor& rows) { return GatherRows::apply(rows, &group); }

}  // namespace ssdd::train
