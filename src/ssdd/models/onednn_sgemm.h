// oneDNN's fp32 matrix product, for the benchmarks' measure of the machine's fp32 rate (issue 28).
//
// LibTorch's torch::mm goes to its BLAS (OpenBLAS in Debian), which picks its kernels by CPU
// model and falls back to AVX2 ones on CPUs newer than it knows: on the Zen 5 machine of
// 2026-12-05 it ran at 195 GFLOP/s on 2 threads where oneDNN's AVX-512 sgemm ran at 390
// (docs/performance-log.md section 17). A rate quoted as the machine's ceiling takes the faster.
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::models {

// Whether this build links oneDNN directly (Debian's libdnnl-dev beside its LibTorch).
bool onednn_sgemm_available();

// c = a @ b for contiguous float CPU matrices (a: m x k, b: k x n, c: m x n, preallocated),
// on LibTorch's thread count. Requires onednn_sgemm_available().
void onednn_sgemm(const at::Tensor& a, const at::Tensor& b, at::Tensor& c);

// Whether onednn_mm takes a and b: oneDNN linked, float CPU matrices of matching inner size,
// each contiguous or the transpose of a contiguous one (x.t() of a contiguous x).
bool onednn_mm_takes(const at::Tensor& a, const at::Tensor& b);

// a @ b as a new contiguous tensor by oneDNN's sgemm, transposed operands read in place.
// Requires onednn_mm_takes(a, b). Outside autograd: the result has no graph.
at::Tensor onednn_mm(const at::Tensor& a, const at::Tensor& b);

}  // namespace ssdd::models
