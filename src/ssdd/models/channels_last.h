// Channels-last activations for oneDNN's convolutions, also for one-channel images.
//
// `x.contiguous(ChannelsLast)` returns a one-channel NCHW tensor unchanged: with C = 1 it already
// counts as contiguous in either format, so its strides stay NCHW's. The convolution then reads
// the input (and the weights, NCHW too) as NCHW, and the whole network runs NCHW: Fashion-MNIST
// and MNIST, the `cpu` preset's data, never ran channels-last. `to(ChannelsLast)` re-strides it.
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::models {

inline at::Tensor to_channels_last(const at::Tensor& x) {
  return x.to(x.options(), /*non_blocking=*/false, /*copy=*/false, at::MemoryFormat::ChannelsLast);
}

}  // namespace ssdd::models
