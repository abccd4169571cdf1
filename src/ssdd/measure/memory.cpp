#include "ssdd/measure/memory.h"

#include <malloc.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>

#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/models/zoo.h"

namespace ssdd::measure {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Bytes malloc has handed out and not taken back (every arena, plus mmapped blocks).
std::optional<double> heap_in_use() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
  const struct mallinfo2 info = ::mallinfo2();
  return static_cast<double>(info.uordblks) + static_cast<double>(info.hblkhd);
#else
  return std::nullopt;
#endif
}

// Building a network draws its initial weights from LibTorch's global generator; a
// measurement must not move the generator a seeded run draws from afterwards.
class GlobalGeneratorKept {
 public:
  GlobalGeneratorKept() : generator_(at::detail::getDefaultCPUGenerator()), state_(generator_.get_state()) {}
  ~GlobalGeneratorKept() { generator_.set_state(state_); }

 private:
  at::Generator generator_;
  at::Tensor state_;
};

// Reads the first number of a file (a cgroup's memory.max is "max" when unlimited).
std::optional<double> number_in(const std::string& path) {
  std::ifstream in(path);
  double value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

}  // namespace

double image_bytes(const models::ImageShape& s) {
  return static_cast<double>(s.channels * s.height * s.width) * kFloatBytes;
}

std::string count_text(double n) { return std::to_string(static_cast<long long>(n)); }

void MemoryEstimate::add(std::string what, double bytes, std::string advice) {
  parts_.push_back({std::move(what), bytes, std::move(advice)});
}

double MemoryEstimate::total() const {
  double sum = 0;
  for (const auto& p : parts_) sum += p.bytes;
  return sum;
}

const std::string& MemoryEstimate::advice() const {
  static const std::string none;
  const auto largest = std::max_element(parts_.begin(), parts_.end(),
                                        [](const MemoryPart& a, const MemoryPart& b) { return a.bytes < b.bytes; });
  return largest == parts_.end() ? none : largest->advice;
}

std::string MemoryEstimate::describe() const {
  std::vector<MemoryPart> sorted = parts_;
  std::sort(sorted.begin(), sorted.end(), [](const MemoryPart& a, const MemoryPart& b) { return a.bytes > b.bytes; });
  std::string text = "about " + format_bytes(total()) + " needed (";
  for (size_t i = 0; i < sorted.size() && i < 4; ++i)
    text += (i ? ", " : "") + sorted[i].what + " " + format_bytes(sorted[i].bytes);
  return text + (sorted.size() > 4 ? ", ...)" : ")");
}

std::string format_bytes(double bytes) {
  if (bytes >= kGiB) return fmt::format("{:.1f} GiB", bytes / kGiB);
  return fmt::format("{:.0f} MiB", bytes / (1024.0 * 1024.0));
}

std::optional<double> available_memory_bytes() {
  std::optional<double> available;
  auto lower_to = [&](double bytes) {
    if (!available || bytes < *available) available = std::max(bytes, 0.0);
  };
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    double kib = 0;
    meminfo >> kib;
    if (key == "MemAvailable:") {
      lower_to(kib * 1024);
      break;
    }
    meminfo.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  // A container's limit (cgroup v2), which MemAvailable does not see.
  const auto limit = number_in("/sys/fs/cgroup/memory.max");
  const auto used = number_in("/sys/fs/cgroup/memory.current");
  if (limit && used) lower_to(*limit - *used);
  if (const char* cap = std::getenv("SSDD_MEMORY_LIMIT")) {
    char* end = nullptr;
    const double gib = std::strtod(cap, &end);
    if (end == cap || *end != '\0' || !(gib > 0))
      throw ConfigError("SSDD_MEMORY_LIMIT", std::string("expected a positive number of GiB, found '") + cap + "'");
    lower_to(gib * kGiB);
  }
  return available;
}

void check_memory(const MemoryEstimate& estimate, const c10::Device& device) {
  if (!device.is_cpu()) return;
  const char* skip = std::getenv("SSDD_SKIP_MEMORY_CHECK");
  if (skip && std::string(skip) == "1") return;
  const auto available = available_memory_bytes();
  if (!available || estimate.total() <= *available) return;
  throw ConfigError(estimate.stage(), estimate.describe() + ", " + format_bytes(*available) + " available; " +
                                          estimate.advice() + " (SSDD_SKIP_MEMORY_CHECK=1 skips this check)");
}

NetworkFootprint measure_network(const std::string& arch_spec, const models::ImageShape& shape) {
  // Measured once per process: a grid checks every target against the same architectures.
  static std::mutex mutex;
  static std::map<std::string, NetworkFootprint> measured;
  const std::string key = arch_spec + " " + std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" +
                          std::to_string(shape.width);
  const std::lock_guard<std::mutex> lock(mutex);
  if (const auto it = measured.find(key); it != measured.end()) return it->second;
  const GlobalGeneratorKept generator_kept;
  torch::AutoGradMode grad(true);
  const models::Encoder net = models::make_encoder_from_spec(arch_spec, shape);
  net->train();
  NetworkFootprint f;
  for (const auto& p : net->parameters()) {
    f.parameters += static_cast<double>(p.numel());
    f.parameter_tensors += 1;
  }
  f.feature_dim = net->feature_dim();
  // Heap growth while a batch's graph is alive. Zeros, not random images: no generator
  // draw, and the same memory.
  auto graph_bytes = [&](int64_t batch) -> std::optional<double> {
    const auto before = heap_in_use();
    const at::Tensor x = torch::zeros({batch, shape.channels, shape.height, shape.width}).requires_grad_(true);
    const at::Tensor y = net->features(x);
    const auto after = heap_in_use();
    if (!before || !after) return std::nullopt;
    return *after - *before;
  };
  graph_bytes(2);  // the first call allocates what is kept after it (kernels, workspaces)
  const auto two = graph_bytes(2), four = graph_bytes(4);
  // The floor (input, output of the first layer, its gradient) covers a platform without
  // heap statistics.
  const double floor = 4 * image_bytes(shape);
  f.activation_bytes = two && four ? std::max((*four - *two) / 2, floor) : 64 * floor;
  return measured[key] = f;
}

}  // namespace ssdd::measure
