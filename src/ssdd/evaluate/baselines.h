// The real-image baselines of the results table, written as distilled-set files of the
// same format as `ssdd distill` (explicit form, one view "rot0"), so that `evaluate`
// scores them by the same protocol:
//   random   N real images of the source train split, drawn with a seeded generator;
//   kmeans   k-means (k = N) on the teacher's representations of the source train
//            split, then for each centroid the nearest real image (distinct images);
//   random-rot  the images of `random` (same seed) with every predefined view of `ours`
//            and the teacher's target of each view stored: a control that separates
//            "rotated views of real images" from distillation (issue 23).
// Targets are the teacher's representations of the chosen images (the teacher cache).
// m is the budget (KRR-ST counts images only), or with count_targets the most images whose
// images and targets together fit the budget in floats (storage-equal with `ours`).
// ("none", the untrained network, needs no file: the grid adds that row itself.)
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "ssdd/core/choice.h"
#include "ssdd/core/config_json.h"
#include "ssdd/core/runtime_options.h"

namespace ssdd::evaluate {

enum class BaselineMethod { random, kmeans, random_rot };  // "random", "kmeans", "random-rot"
const ChoiceNames<BaselineMethod>& choice_names(BaselineMethod);
SSDD_CHOICE_JSON(BaselineMethod)

struct BaselineConfig {
  BaselineMethod method = BaselineMethod::random;
  std::string teacher;            // teacher folder
  std::string data;               // source data set; empty: the teacher's
  std::string data_dir;
  int resolution = 0;             // square side the data is read at; 0: its own, or the teacher's input size
  int64_t budget = 100;           // N images
  int64_t kmeans_iterations = 50; // Lloyd iterations after k-means++ seeding
  std::string views = "rot0,rot90,rot180,rot270";  // random-rot: the views stored (ours' default)
  bool count_targets = false;     // storage-equal: targets count against the budget too
  RuntimeOptions runtime;

  // Flat in JSON: "seed", "threads", "device" (core/config_json.h).
  static std::vector<ConfigPart> json_parts() { return {{"runtime", ""}}; }

  nlohmann::json to_json() const;
  // Unknown keys and bad values -> ConfigError naming `where` (the file and section).
  static BaselineConfig from_json(const nlohmann::json& j, const std::string& where = "baseline config");
  // Counts in range (from_json calls it; so does the CLI after its overrides): ConfigError
  // naming `where`, the key, the range and the value found.
  void validate(const std::string& where) const;
};


// m: the images a baseline of this config keeps for source images of C x H x W = image_floats
// floats and a teacher of `rep_dim`: the budget, or with count_targets the largest m with
// m * (image_floats + T * rep_dim) <= budget * image_floats (T: views stored per image).
// ConfigError when not even one image fits.
int64_t baseline_images(const BaselineConfig& config, int64_t image_floats, int64_t rep_dim);

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
