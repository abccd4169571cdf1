// Estimates of peak memory, checked before the large allocations: an option that cannot
// fit (a pool of 100,000 models, a krrst budget near the data size, bench --m 100000)
// fails at once with one line naming the estimate, what is available and the option to
// change, instead of driving the machine into swap or the OOM killer.
//
// Estimates count float32 tensors from their shapes. A network's activation memory per
// image (the graph kept for backward, train mode) and its parameter count are measured by
// building it on the CPU and running two small batches through it, so every architecture
// of the zoo is covered without a formula per architecture.
//
// Available memory: MemAvailable of /proc/meminfo, lowered to a cgroup's memory.max when
// one is set, and to SSDD_MEMORY_LIMIT (GiB, e.g. 8 or 0.5) when given; unknown: no check.
// SSDD_SKIP_MEMORY_CHECK=1 skips the check. Only CPU runs are checked (GPU memory is not
// probed).
#pragma once
#include <c10/core/Device.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ssdd/models/image_shape.h"

namespace ssdd::measure {

// Bytes of the element types the estimates count, and the bookkeeping of one tensor
// (TensorImpl, storage, autograd meta): it counts for a pool of 100,000 models of a few
// dozen tensors each.
inline constexpr double kFloatBytes = 4, kDoubleBytes = 8, kLongBytes = 8;
inline constexpr double kTensorOverheadBytes = 512;

struct MemoryPart {
  std::string what;  // with its shape, e.g. "kernel 1036x1036"
  double bytes = 0;
  std::string advice;  // the option that shrinks it, e.g. "lower --pool-size"
};

class MemoryEstimate {
 public:
  explicit MemoryEstimate(std::string stage) : stage_(std::move(stage)) {}
  void add(std::string what, double bytes, std::string advice);
  double total() const;
  const std::vector<MemoryPart>& parts() const { return parts_; }
  // "distill: about 41.2 GiB needed (pool 100000 models 40.1 GiB, ...)".
  std::string describe() const;
  // The advice of the largest part.
  const std::string& advice() const;
  const std::string& stage() const { return stage_; }

 private:
  std::string stage_;
  std::vector<MemoryPart> parts_;
};

// "41.2 GiB", "350 MiB".
std::string format_bytes(double bytes);

// Bytes this process may still allocate (see the top of the file); nullopt when unknown.
std::optional<double> available_memory_bytes();

// ConfigError(stage, "about X needed (...), Y available; <advice>") when the estimate
// exceeds what is available. No-op on a GPU, when availability is unknown, or with
// SSDD_SKIP_MEMORY_CHECK=1.
void check_memory(const MemoryEstimate& estimate, const c10::Device& device);

// A network of the zoo, measured on the CPU.
struct NetworkFootprint {
  double parameters = 0;  // floats
  double parameter_tensors = 0;
  double activation_bytes = 0;  // per image, forward with graph in train mode
  int64_t feature_dim = 0;
};
NetworkFootprint measure_network(const std::string& arch_spec, const models::ImageShape& shape);

// One float32 image of `shape`, in bytes.
double image_bytes(const models::ImageShape& shape);
// A count in an estimate's text: "1036".
std::string count_text(double n);

}  // namespace ssdd::measure
