#include "ssdd/evaluate/alignment.h"

#include "ssdd/measure/similarity.h"

namespace ssdd::evaluate {

AlignmentResult teacher_alignment(const at::Tensor& pred_train, const at::Tensor& train_labels,
                                  const at::Tensor& pred_test, const at::Tensor& test_labels,
                                  const at::Tensor& teacher_test, int64_t num_classes,
                                  const measure::ProbeOptions& probe) {
  AlignmentResult r;
  r.n = pred_test.size(0);
  r.r2 = measure::r_squared(pred_test, teacher_test);
  r.cka = measure::linear_cka(pred_test, teacher_test);
  const auto probed = measure::linear_probe(pred_train, train_labels, pred_test, test_labels, num_classes, probe);
  r.probe_test_accuracy = probed.test_accuracy;
  r.probe_train_accuracy = probed.train_accuracy;
  return r;
}

}  // namespace ssdd::evaluate
