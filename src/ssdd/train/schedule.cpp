#include "ssdd/train/schedule.h"

#include <algorithm>
#include <cmath>

namespace ssdd::train {

double warmup_cosine(int64_t step, int64_t total, int64_t warmup, double base, double final_factor) {
  if (warmup > 0 && step < warmup) return base * static_cast<double>(step + 1) / static_cast<double>(warmup);
  const double span = static_cast<double>(std::max<int64_t>(1, total - warmup));
  const double progress = std::clamp(static_cast<double>(step - warmup) / span, 0.0, 1.0);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return base * (final_factor + (1.0 - final_factor) * cosine);
}

double linear_decay(int64_t step, int64_t total, double base, double end_factor) {
  const double progress = total > 0 ? std::clamp(static_cast<double>(step) / static_cast<double>(total), 0.0, 1.0) : 0.0;
  return base * (1.0 + (end_factor - 1.0) * progress);
}

}  // namespace ssdd::train
