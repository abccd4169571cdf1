// The standard CIFAR augmentation KRR-ST applies to its real batch: random crop after
// zero padding, and a horizontal flip with probability 1/2. Batched (two gathers), on
// the tensor's device; the random offsets come from a CPU generator.
#pragma once
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace ssdd::data {

// x: N x C x H x W (any dtype). Returns a new tensor of the same shape.
at::Tensor random_crop_flip(const at::Tensor& x, int64_t padding, at::Generator& gen);

}  // namespace ssdd::data
