// Seconds between the laps of a step's phases, for the benches' phase tables. CUDA runs
// asynchronously: a lap that asks for it waits for the device first, so it times the phase's
// work, not its launch.
#pragma once
#include <chrono>

#include <c10/core/Device.h>
#include <torch/cuda.h>

namespace ssdd {

class LapClock {
 public:
  explicit LapClock(const c10::Device& device) : cuda_(device.is_cuda()) {}

  // Seconds since the previous lap (or the clock's start).
  double lap(bool synchronise) {
    if (synchronise && cuda_) torch::cuda::synchronize();
    const auto now = std::chrono::steady_clock::now();
    const double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return seconds;
  }

 private:
  bool cuda_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace ssdd
