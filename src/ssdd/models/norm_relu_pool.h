// The tail of a ConvNet block, [batch norm ->] ReLU -> 2x2 average pool, as one pass over the
// convolution's output instead of four to six (issue 28; docs/performance-log.md section 11).
//
// On the CPU these passes are memory-bound and cost more than the convolutions: at the `cpu`
// preset's inner step the first block's output is 1,140 x 32 x 28 x 28 floats (114 MB), and
// LibTorch reads or writes it about ten times between batch norm, ReLU and pooling, forward and
// backward. Here the forward reads it twice (statistics, then normalise + ReLU + pool, writing a
// quarter of it) and the backward three times (the gradient's two reductions recompute the
// normalised value and the ReLU mask from the saved input rather than storing them).
//
// Same maths as LibTorch's training-mode batch_norm (biased variance to normalise, unbiased into
// the running variance) followed by relu and avg_pool2d(2, 2) with floor: positions the pool
// drops (an odd last row or column) still count in the statistics and get a gradient through
// them. Statistics are accumulated in double, in a fixed number of chunks per thread count, so
// a run is repeatable at a given thread count; results differ from LibTorch's in the last bits.
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::models {

class SyncBatchNormImplBase;

// Whether the fused kernels take x: a float CPU tensor of 4 dimensions, channels-last
// contiguous, at least 2x2. Everything else (CUDA, NCHW, doubles) takes LibTorch's ops.
bool fusable_block_tail(const at::Tensor& x);

// avg_pool2d(relu(x), 2, 2), differentiable in x.
at::Tensor relu_pool(const at::Tensor& x);

// avg_pool2d(relu(batch_norm(x)), 2, 2) with batch statistics, differentiable in x and the norm's
// weight and bias; the norm's running statistics are updated as its own forward would. The norm
// must be affine and of one process (no sum_across_ranks).
at::Tensor batch_norm_relu_pool(const at::Tensor& x, SyncBatchNormImplBase& norm);

}  // namespace ssdd::models
