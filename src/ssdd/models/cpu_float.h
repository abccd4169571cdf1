// The tensors ssdd's own CPU kernels take (the fused block tails, the one-channel block, the
// Winograd convolutions): defined, on the CPU, float32. Everything else goes to LibTorch's ops.
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::models {

inline bool is_cpu_float(const at::Tensor& t) {
  return t.defined() && t.device().is_cpu() && t.scalar_type() == at::kFloat;
}

}  // namespace ssdd::models
