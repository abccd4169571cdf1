// Teacher-alignment diagnostics (SPEC 9, issue 12): how much of the teacher a student
// absorbed, measured on held-out real images (the source's test split) by comparing the
// student's predicted representation h(F(x)) with the teacher's g(x):
//   R^2   1 - SSE / SST over all entries, SST around the per-dimension mean of g(x);
//   CKA   linear centred kernel alignment, ||B^T A||_F^2 / (||A^T A||_F ||B^T B||_F) of the
//         column-centred matrices (Kornblith et al. 2019, feature-space form);
//   probe the linear-probe accuracy of h(F(x)) used as features (train split fits,
//         test split scores), with the one linear-probe routine.
// These separate methods even where the probe of the raw features F(x) cannot.
#pragma once
#include <ATen/core/Tensor.h>

#include "ssdd/evaluate/linear_probe.h"

namespace ssdd::evaluate {

// pred and target: n x d. Computed in double precision. SST = 0 (a constant target)
// throws Error, as R^2 is undefined there.
double r_squared(const at::Tensor& pred, const at::Tensor& target);

// a: n x p, b: n x q (p and q may differ). In [0, 1]; invariant to orthogonal
// transforms and isotropic scaling of either side. 0 when either side is constant.
double linear_cka(const at::Tensor& a, const at::Tensor& b);

struct AlignmentResult {
  double r2 = 0;
  double cka = 0;
  double probe_test_accuracy = 0;   // linear probe on h(F(x))
  double probe_train_accuracy = 0;
  int64_t n = 0;                    // held-out images compared
};

// pred_train / pred_test: h(F(x)) of the source's train and test splits; teacher_test:
// g(x) of the test split (same rows as pred_test). Labels index the classes.
AlignmentResult teacher_alignment(const at::Tensor& pred_train, const at::Tensor& train_labels,
                                  const at::Tensor& pred_test, const at::Tensor& test_labels,
                                  const at::Tensor& teacher_test, int64_t num_classes, const ProbeOptions& probe);

}  // namespace ssdd::evaluate
