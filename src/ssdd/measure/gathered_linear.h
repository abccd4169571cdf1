// The linear probe's classifier on the CPU: the logits of a batch of rows of a frozen feature
// matrix, standardised as they are read, with gradients for the weights and bias. The plain way
// standardises a copy of the whole matrix first (its pages faulted in on every probe), gathers
// each batch from it and runs two matrix products whose inner size is the class count, where
// OpenBLAS spends more time packing than multiplying. Here a batch's rows are copied once,
// standardised on the way, and both passes read that copy in kernels that share each load of
// the weights or gradients among four rows (docs/performance-log.md section 16). Internal to
// measure/ (linear_probe.cpp).
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::measure {

// Each column's (x - mean) * inv_std, both 1-D float of the feature count; undefined: the raw
// features.
struct ColumnScaling {
  at::Tensor mean, inv_std;
};

// Whether gathered_linear takes these features: float, contiguous, 2-D, on the CPU.
bool gathered_linear_applies(const at::Tensor& features);

// The logits scaled(features[index]) @ weight^T + bias: index int64 (any order, repeats
// allowed), weight classes x p, bias classes. Autograd reaches weight and bias, never the
// features. A row's logits do not depend on the thread count, nor do the gradients (each
// column's sum runs over the rows in order), so a probe gives the same numbers at any count.
at::Tensor gathered_linear(const at::Tensor& features, const at::Tensor& index, const at::Tensor& weight,
                           const at::Tensor& bias, const ColumnScaling& scaling);

}  // namespace ssdd::measure
