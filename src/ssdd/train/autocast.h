// Mixed precision as PyTorch's `torch.autocast(device, dtype)` context gives it: while a guard
// lives, matrix products and convolutions run in the lower precision (their inputs cast on the
// way in, fp32 weights cached as bf16 copies), other ops in the precision they are given.
// Parameters, gradients and optimiser state stay fp32. LibTorch's C++ API has the switches but
// no scope, so this is the scope: on leaving the outermost guard the cast cache is cleared
// (else the next step would reuse the old weights' copies), and the earlier state is restored.
#pragma once
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

namespace ssdd::train {

class Autocast {
 public:
  // Nothing happens when `dtype` is Float: the fp32 path, unchanged. (So not an fp32 island
  // inside a bf16 scope, as torch.autocast(enabled=False) is: nothing here needs one.)
  Autocast(c10::DeviceType device, c10::ScalarType dtype);
  ~Autocast();
  Autocast(const Autocast&) = delete;
  Autocast& operator=(const Autocast&) = delete;

 private:
  c10::DeviceType device_;
  bool active_ = false;
  bool was_enabled_ = false;
  c10::ScalarType was_dtype_ = c10::ScalarType::Float;
};

}  // namespace ssdd::train
