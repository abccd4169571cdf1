// The real-image baselines of the results table, written as distilled-set files of the
// same format as `ssdd distill` (explicit form, one view "rot0"), so that `evaluate`
// scores them by the same protocol:
//   random   N real images of the source train split, drawn with a seeded generator;
//   kmeans   k-means (k = N) on the teacher's representations of the source train
//            split, then for each centroid the nearest real image (distinct images).
// Targets are the teacher's representations of the chosen images (the teacher cache).
// ("none", the untrained network, needs no file: the grid adds that row itself.)
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

namespace ssdd::evaluate {

struct BaselineConfig {
  std::string method = "random";  // random | kmeans
  std::string teacher;            // teacher folder
  std::string data;               // source data set; empty: the teacher's
  std::string data_dir;
  int resolution = 0;             // square side the data is read at; 0: its own, or the teacher's input size
  int64_t budget = 100;           // N images
  int64_t kmeans_iterations = 50; // Lloyd iterations after k-means++ seeding
  uint64_t seed = 0;
  int threads = 0;
  std::string device = "cpu";

  nlohmann::json to_json() const;
  // Unknown keys and bad values -> ConfigError naming `where` (the file and section).
  static BaselineConfig from_json(const nlohmann::json& j, const std::string& where = "baseline config");
  // Counts in range (from_json calls it; so does the CLI after its overrides): ConfigError
  // naming `where`, the key, the range and the value found.
  void validate(const std::string& where) const;
};

std::vector<std::string> baseline_methods();  // {"random", "kmeans"}

// N distinct indices of [0, n), uniformly at random.
at::Tensor random_subset(int64_t n, int64_t budget, uint64_t seed);

// Lloyd's k-means on the rows of x (n x d) with k-means++ seeding: `iterations` rounds,
// distances by matmul in row chunks. A cluster that empties keeps its old centroid.
// Returns the k x d centroids (float, CPU).
at::Tensor kmeans(const at::Tensor& x, int64_t k, int64_t iterations, uint64_t seed);

// For each centroid (in order of how close its nearest point is), the nearest row of x
// not yet taken; k distinct indices aligned with the centroids.
at::Tensor nearest_distinct(const at::Tensor& x, const at::Tensor& centroids);

struct BaselineResult {
  at::Tensor indices;  // the chosen source train images
  double seconds = 0;
};

// Builds the set and writes out_dir/distilled.pt, images.png and log.
BaselineResult make_baseline(const BaselineConfig& config, const std::string& out_dir);

}  // namespace ssdd::evaluate
