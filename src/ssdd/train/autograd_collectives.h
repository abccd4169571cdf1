// Collectives inside a model's forward, with their backward (issue 26's data-parallel teacher):
// autograd sees them as ordinary operations, and the backward pass makes the matching
// collectives on every rank, in the same order, as the forward did.
//
// The rule both follow: a rank's backward() yields its share of the gradient of the one loss
// the job computes, and train::fit sums the shares of the parameters' gradients. So a value
// each rank *uses only for its own rows* (a batch statistic) sums its gradient over the ranks,
// and a tensor from which *every rank computes the same loss* (the gathered embeddings) takes
// its own rows of the gradient, which are already the whole derivative.
#pragma once
#include <ATen/core/Tensor.h>

#include "ssdd/train/distributed.h"

namespace ssdd::train {

// The sum of `x` over the ranks; its gradient is the sum of the ranks' gradients.
at::Tensor sum_across_ranks(ProcessGroup& group, const at::Tensor& x);

// This rank's share of a global batch's rows: an equal, contiguous share, rank-major, so that
// gather_rows returns the shares in the batch's order. The caller has checked that the rows
// divide evenly among the ranks.
at::Tensor own_rows(const ProcessGroup& group, const at::Tensor& batch);

// Every rank's rows (the same shape on each), rank-major; the gradient of a rank's `rows` is
// its own rows of the gathered tensor's gradient.
at::Tensor gather_rows(ProcessGroup& group, const at::Tensor& rows);

}  // namespace ssdd::train
