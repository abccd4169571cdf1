// How close one representation is to another, row by row over the same inputs: the
// teacher-alignment diagnostics of evaluation (SPEC 9) and the approximation networks'
// check of distillation (SPEC 5) use these, one definition for both.
//   R^2   1 - SSE / SST over all entries, SST around the per-dimension mean of the target;
//   CKA   linear centred kernel alignment, ||B^T A||_F^2 / (||A^T A||_F ||B^T B||_F) of the
//         column-centred matrices (Kornblith et al. 2019, feature-space form).
#pragma once
#include <ATen/core/Tensor.h>

namespace ssdd::measure {

// pred and target: n x d on any device; computed in double precision on the CPU.
// SST = 0 (a constant target) throws Error, as R^2 is undefined there.
double r_squared(const at::Tensor& pred, const at::Tensor& target);

// a: n x p, b: n x q (p and q may differ). In [0, 1]; invariant to orthogonal
// transforms and isotropic scaling of either side. 0 when either side is constant.
double linear_cka(const at::Tensor& a, const at::Tensor& b);

}  // namespace ssdd::measure
