#include "ssdd/evaluate/evaluation_memory.h"

#include <algorithm>
#include <optional>

namespace ssdd::evaluate {

using measure::count_text;
using measure::kDoubleBytes;
using measure::kFloatBytes;
using measure::kLongBytes;
using measure::MemoryEstimate;
using measure::NetworkFootprint;

MemoryEstimate evaluation_memory(const EvaluationShape& s, const std::vector<std::string>& archs) {
  std::optional<MemoryEstimate> largest;
  const double image = measure::image_bytes(s.image);
  const double probed = static_cast<double>(s.train_images + s.test_images);
  const std::string images =
      count_text(static_cast<double>(s.train_images)) + "+" + count_text(static_cast<double>(s.test_images));
  // A batch holds at most the set (pretraining) or the target's train split (fine-tuning).
  const double batch = static_cast<double>(
      std::max(std::min(s.pretrain_batch, s.set_images), std::min(s.finetune_batch, s.train_images)));
  for (const auto& arch : archs) {
    const NetworkFootprint net = measure::measure_network(arch, s.image);
    MemoryEstimate e("evaluate");
    // Train and test features, and the probe's standardised copy.
    e.add("features " + images + " x " + count_text(static_cast<double>(net.feature_dim)) + " (" + arch + ")",
          2 * probed * static_cast<double>(net.feature_dim) * kFloatBytes, "lower --probe-max-train");
    e.add("teacher features " + images + " x " + count_text(static_cast<double>(s.rep_dim)),
          probed * static_cast<double>(s.rep_dim) * kFloatBytes, "lower --probe-max-train");
    e.add("training batch " + count_text(batch) + " (" + arch + ")",
          2 * batch * net.activation_bytes + 4 * net.parameters * kFloatBytes, "lower --pretrain-batch");
    e.add("distilled set " + count_text(static_cast<double>(s.set_images)) + " images",
          static_cast<double>(s.set_images) * (image + static_cast<double>(s.rep_dim) * kFloatBytes) * 2,
          "evaluate smaller sets");
    if (!largest || e.total() > largest->total()) largest = e;
  }
  return largest ? *largest : MemoryEstimate("evaluate");
}

MemoryEstimate kmeans_memory(int64_t n_points, int64_t dim, int64_t k_centroids) {
  constexpr double kChunk = 8192;  // rows per distance block (baselines.cpp)
  const double n = static_cast<double>(n_points), d = static_cast<double>(dim), k = static_cast<double>(k_centroids);
  MemoryEstimate e("baseline kmeans");
  e.add("points " + count_text(n) + " x " + count_text(d) + " (double)", 2 * n * d * kDoubleBytes + 2 * k * d * kDoubleBytes,
        "lower --budget");
  // assign(): chunk x k; nearest_distinct(): min(k, chunk) x n, and its top-candidates.
  e.add("distance blocks", 3 * std::max(std::min(n, kChunk) * k, std::min(k, kChunk) * n) * kDoubleBytes, "lower --budget");
  const double candidates = std::min(n, k);
  e.add("nearest candidates " + count_text(k) + " x " + count_text(candidates),
        k * candidates * kLongBytes + std::min(k, kChunk) * candidates * (kDoubleBytes + kLongBytes), "lower --budget");
  return e;
}

}  // namespace ssdd::evaluate
