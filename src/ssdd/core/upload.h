// Moving small host tensors (indices drawn by a CPU generator) to the device inside a
// hot loop.
#pragma once
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace ssdd {

// A plain .to(cuda) of pageable memory waits for the copy, and so for the GPU's queue;
// through pinned memory the copy is queued like a kernel. The identity on the CPU.
at::Tensor upload(const at::Tensor& host, c10::Device device);

}  // namespace ssdd
