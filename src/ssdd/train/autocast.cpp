#include "ssdd/train/autocast.h"

#include <ATen/autocast_mode.h>

#include "ssdd/core/autocast_state.h"
#include "ssdd/core/compat.h"
#include "ssdd/core/error.h"

namespace ssdd::train {
namespace {

// LibTorch 2.4 named the switches by device; 1.13 has one pair per device kind.
c10::ScalarType lower_dtype(c10::DeviceType device) {
#if SSDD_TORCH_AT_LEAST(2, 4)
  return at::autocast::get_autocast_dtype(device);
#else
  return device == c10::DeviceType::CPU ? at::autocast::get_autocast_cpu_dtype()
                                        : at::autocast::get_autocast_gpu_dtype();
#endif
}

void set(c10::DeviceType device, bool on, c10::ScalarType dtype) {
#if SSDD_TORCH_AT_LEAST(2, 4)
  at::autocast::set_autocast_dtype(device, dtype);
  at::autocast::set_autocast_enabled(device, on);
#else
  if (device == c10::DeviceType::CPU) {
    at::autocast::set_autocast_cpu_dtype(dtype);
    at::autocast::set_cpu_enabled(on);
  } else {
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(on);
  }
#endif
}

}  // namespace

Autocast::Autocast(c10::DeviceType device, c10::ScalarType dtype) : device_(device) {
  if (dtype == c10::ScalarType::Float) return;
  if (device != c10::DeviceType::CPU && device != c10::DeviceType::CUDA)
    throw Error("autocast: only CPU and CUDA devices, found " + c10::DeviceTypeName(device));
  was_enabled_ = autocast_enabled(device);
  was_dtype_ = lower_dtype(device);
  set(device, true, dtype);
  at::autocast::increment_nesting();
  active_ = true;
}

Autocast::~Autocast() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set(device_, was_enabled_, was_dtype_);
}

}  // namespace ssdd::train
