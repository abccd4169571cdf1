// The arithmetic of a training step's forward (train/autocast.h). bfloat16: convolutions and
// matrix products in bf16 under autocast; the loss, the gradients' accumulation into the
// parameters and the optimiser in fp32, and the weights a run writes fp32. Used by the teacher
// (TeacherConfig::precision) and the evaluation's pretraining (PretrainOptions::precision).
#pragma once
#include <c10/core/ScalarType.h>

#include "ssdd/core/choice.h"

namespace ssdd::train {

enum class Precision { float32, bfloat16 };
inline const ChoiceNames<Precision>& choice_names(Precision) {
  static const ChoiceNames<Precision> names = {{Precision::float32, "float32"}, {Precision::bfloat16, "bfloat16"}};
  return names;
}
SSDD_CHOICE_JSON(Precision)

// The dtype an Autocast scope of this precision computes in (Float: no scope).
inline c10::ScalarType compute_dtype(Precision precision) {
  return precision == Precision::bfloat16 ? c10::ScalarType::BFloat16 : c10::ScalarType::Float;
}

}  // namespace ssdd::train
