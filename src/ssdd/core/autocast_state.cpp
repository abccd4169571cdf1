#include "ssdd/core/autocast_state.h"

#include <ATen/autocast_mode.h>

#include "ssdd/core/compat.h"

namespace ssdd {

// LibTorch 2.4 named the switches by device; 1.13 has one pair per device kind.
bool autocast_enabled(c10::DeviceType device) {
#if SSDD_TORCH_AT_LEAST(2, 4)
  return at::autocast::is_autocast_enabled(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
#endif
}

}  // namespace ssdd
