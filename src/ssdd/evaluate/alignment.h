// Teacher-alignment diagnostics (SPEC 9, issue 12): how much of the teacher a student
// absorbed, measured on held-out real images (the source's test split) by comparing the
// student's predicted representation h(F(x)) with the teacher's g(x):
//   R^2 and linear CKA of h(F(x)) against g(x) (measure/similarity.h);
//   probe the linear-probe accuracy of h(F(x)) used as features (train split fits,
//         test split scores), with the one linear-probe routine.
// These separate methods even where the probe of the raw features F(x) cannot.
#pragma once
#include <ATen/core/Tensor.h>

#include "ssdd/measure/linear_probe.h"

namespace ssdd::evaluate {

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
                                  const at::Tensor& teacher_test, int64_t num_classes,
                                  const measure::ProbeOptions& probe);

}  // namespace ssdd::evaluate
