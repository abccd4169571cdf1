// Learning-rate schedules as plain functions of the step, so a resumed run gets the
// same rate at the same step without any scheduler state to save.
#pragma once
#include <cstdint>

namespace ssdd::train {

// Linear warm-up from 0 over `warmup` steps, then cosine decay from `base` to
// `base * final_factor` at `total`.
double warmup_cosine(int64_t step, int64_t total, int64_t warmup, double base, double final_factor = 0.0);

// Linear decay from `base` at step 0 to `base * end_factor` at `total` (KRR-ST's LinearLR).
double linear_decay(int64_t step, int64_t total, double base, double end_factor);

}  // namespace ssdd::train
