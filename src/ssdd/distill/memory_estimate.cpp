#include "ssdd/distill/memory_estimate.h"

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>

#include "ssdd/core/error.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/distiller.h"
#include "ssdd/models/zoo.h"

namespace ssdd::distill {
namespace {

constexpr double kFloat = 4, kDouble = 8, kLong = 8;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
// Bookkeeping of one tensor (TensorImpl, storage, autograd meta): it counts for a pool of
// 100,000 models of a few dozen tensors each.
constexpr double kTensorOverhead = 512;

std::string count(double n) { return std::to_string(static_cast<long long>(n)); }

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

double pixels(const models::ImageShape& s) { return static_cast<double>(s.channels * s.height * s.width); }

// Reads the first number of a file (a cgroup's memory.max is "max" when unlimited).
std::optional<double> number_in(const std::string& path) {
  std::ifstream in(path);
  double value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

}  // namespace

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
  char text[32];
  if (bytes >= kGiB)
    std::snprintf(text, sizeof text, "%.1f GiB", bytes / kGiB);
  else
    std::snprintf(text, sizeof text, "%.0f MiB", bytes / (1024.0 * 1024.0));
  return text;
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
  const double floor = 4 * kFloat * pixels(shape);
  f.activation_bytes = two && four ? std::max((*four - *two) / 2, floor) : 64 * floor;
  return measured[key] = f;
}

MemoryEstimate distill_memory(const DistillShape& s, const std::string& stage) {
  const NetworkFootprint net = measure_network(s.pool_arch, s.image);
  const double image = pixels(s.image) * kFloat;
  const double views = static_cast<double>(s.views), m = static_cast<double>(s.distilled);
  const double n = static_cast<double>(s.train_images), d = static_cast<double>(s.rep_dim);
  const double set = views * m;                                   // distilled views per step
  const double real = views * static_cast<double>(s.real_batch);  // real views per step
  const double p = static_cast<double>(net.feature_dim + 1);      // features with the bias column
  const double kernel_float = s.krr_float64 ? kDouble : kFloat;    // the regression's type
  MemoryEstimate e(stage);
  if (n > 0)  // every view's representation of the train split, and one view read from the cache
    e.add("teacher representations " + count(views) + " x " + count(n) + " x " + count(d), (views + 1) * n * d * kFloat,
          "use fewer views (--views)");
  // Views, their activations and the backward pass's gradients of them (measured: a pool
  // step's peak is about twice its forward graph), the set's parameters and AdamW's moments.
  e.add("distilled set " + count(views) + " x " + count(m) + " images",
        set * (2 * net.activation_bytes + 2 * image) + 4 * m * (image + views * d * kFloat),
        "lower " + s.images_flag + " (m = " + count(m) + " images)");
  // K_ss and (K_ss + lambda I), its Cholesky factor, and their gradients; features with gradients.
  e.add("kernel " + count(set) + "x" + count(set), 5 * set * set * kernel_float + 3 * set * p * kernel_float,
        "lower " + s.images_flag + " (m = " + count(m) + " images)");
  // Inputs and views, a forward without graph, features, targets, K_ts and its gradient.
  e.add("real batch " + count(real) + " views",
        real * (2 * image + net.activation_bytes / 4 + (p + d) * kFloat) + 3 * real * set * kernel_float,
        "lower " + s.batch_flag);
  // Weights, gradients, momentum, and their copies in a checkpoint.
  const double model = net.parameters + p * d + d;
  e.add("pool " + count(static_cast<double>(s.pool_size)) + " models x " + count(model) + " parameters",
        static_cast<double>(s.pool_size) * (5 * model * kFloat + 3 * (net.parameter_tensors + 2) * kTensorOverhead),
        "lower --pool-size");
  if (s.pca_images > 0)  // normalised images, centred copy, SVD workspace
    e.add("PCA fit on " + count(static_cast<double>(s.pca_images)) + " images",
          3 * static_cast<double>(s.pca_images) * image, "lower --pca-pool");
  return e;
}

DistillShape distill_shape(const DistillConfig& c, const models::ImageShape& image, int64_t train_images,
                           int64_t rep_dim) {
  DistillShape shape;
  shape.image = image;
  shape.train_images = train_images;
  shape.views = c.method == "krrst" ? 1 : static_cast<int64_t>(data::parse_views(c.views).size());
  shape.distilled = distilled_images(c, image, rep_dim);
  shape.real_batch = std::min(c.real_batch, train_images);
  shape.rep_dim = rep_dim;
  shape.pool_size = c.pool.size;
  shape.pca_images =
      c.method == "ours" && c.parameterization ? std::min(train_images, std::max(c.pca_pool, shape.distilled)) : 0;
  shape.pool_arch = c.pool.arch;
  shape.krr_float64 = c.krr_float64();
  return shape;
}

MemoryEstimate evaluation_memory(const EvaluationShape& s, const std::vector<std::string>& archs) {
  std::optional<MemoryEstimate> largest;
  const double image = pixels(s.image) * kFloat;
  const double probed = static_cast<double>(s.train_images + s.test_images);
  const std::string images =
      count(static_cast<double>(s.train_images)) + "+" + count(static_cast<double>(s.test_images));
  // A batch holds at most the set (pretraining) or the target's train split (fine-tuning).
  const double batch = static_cast<double>(
      std::max(std::min(s.pretrain_batch, s.set_images), std::min(s.finetune_batch, s.train_images)));
  for (const auto& arch : archs) {
    const NetworkFootprint net = measure_network(arch, s.image);
    MemoryEstimate e("evaluate");
    // Train and test features, and the probe's standardised copy.
    e.add("features " + images + " x " + count(static_cast<double>(net.feature_dim)) + " (" + arch + ")",
          2 * probed * static_cast<double>(net.feature_dim) * kFloat, "lower --probe-max-train");
    e.add("teacher features " + images + " x " + count(static_cast<double>(s.rep_dim)),
          probed * static_cast<double>(s.rep_dim) * kFloat, "lower --probe-max-train");
    e.add("training batch " + count(batch) + " (" + arch + ")",
          2 * batch * net.activation_bytes + 4 * net.parameters * kFloat, "lower --pretrain-batch");
    e.add("distilled set " + count(static_cast<double>(s.set_images)) + " images",
          static_cast<double>(s.set_images) * (image + static_cast<double>(s.rep_dim) * kFloat) * 2,
          "evaluate smaller sets");
    if (!largest || e.total() > largest->total()) largest = e;
  }
  return largest ? *largest : MemoryEstimate("evaluate");
}

MemoryEstimate kmeans_memory(int64_t n_points, int64_t dim, int64_t k_centroids) {
  constexpr double kChunk = 8192;  // rows per distance block (baselines.cpp)
  const double n = static_cast<double>(n_points), d = static_cast<double>(dim), k = static_cast<double>(k_centroids);
  MemoryEstimate e("baseline kmeans");
  e.add("points " + count(n) + " x " + count(d) + " (double)", 2 * n * d * kDouble + 2 * k * d * kDouble,
        "lower --budget");
  // assign(): chunk x k; nearest_distinct(): min(k, chunk) x n, and its top-candidates.
  e.add("distance blocks", 3 * std::max(std::min(n, kChunk) * k, std::min(k, kChunk) * n) * kDouble, "lower --budget");
  const double candidates = std::min(n, k);
  e.add("nearest candidates " + count(k) + " x " + count(candidates),
        k * candidates * kLong + std::min(k, kChunk) * candidates * (kDouble + kLong), "lower --budget");
  return e;
}

}  // namespace ssdd::distill
