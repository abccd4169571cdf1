// A ConvNet block over one-channel images, convolution included, fused on the CPU: the 3x3
// convolution's output is recomputed a row at a time into a buffer that stays in cache instead
// of being written out (issue 28; docs/performance-log.md section 12).
//
// The first block of a ConvNet over grey images is the widest map of the whole network (at the
// `cpu` preset's inner step 1,140 x 32 x 28 x 28 floats, 114 MB) and its convolution the
// cheapest per pixel (9 multiply-adds a channel). Stored, the map is written once, read twice
// by the fused tail's forward and three times by its backward, and its gradient written and read
// again by the convolution's weight gradient. Recomputed, every pass reads only the image
// (1/32 of the map) and the pooled gradient: 4-5 recomputations of 9 multiply-adds cost less
// than the memory traffic they replace.
//
// Same maths as conv2d(padding 1) followed by models/norm_relu_pool.h's tails; the parameter
// gradients are accumulated in float along a row and in double over rows, in a fixed number of
// chunks per thread count, so a run is repeatable at a given thread count.
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::models {

class SyncBatchNormImplBase;

// Whether the fused kernels take x (a block's input) and the convolution's weight: float CPU
// tensors, x of N x 1 x H x W contiguous with H, W >= 2, weight of C x 1 x 3 x 3.
bool fusable_one_channel_block(const at::Tensor& x, const at::Tensor& weight);

// avg_pool2d(relu(conv2d(x, weight, bias, stride 1, padding 1)), 2, 2), differentiable in x,
// weight and bias (an eval-mode batch norm comes folded into weight and bias; an undefined bias
// is none).
at::Tensor conv_relu_pool(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias);

// avg_pool2d(relu(batch_norm(conv2d(x, weight, bias, stride 1, padding 1))), 2, 2) with batch
// statistics, differentiable in x, weight, bias and the norm's weight and bias; the norm's
// running statistics are updated as its own forward would. The norm must be affine and of one
// process (no sum_across_ranks).
at::Tensor conv_batch_norm_relu_pool(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                     SyncBatchNormImplBase& norm);

}  // namespace ssdd::models
