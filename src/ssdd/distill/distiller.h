// `ssdd distill`: the whole distillation run for either method.
//   krrst  KRR-ST (Lee et al., 2024): free images and targets, m = budget.
//   ours   Yu, Yao & Chiu (2025): parameterization + predefined views + approximation
//          networks, m derived from the budget by exact storage accounting.
// Output folder: distilled.pt, config.json, log, metrics.json, loss.csv, loss.svg,
// images.png (decoded images; with their views for `ours`), checkpoints/.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/core/choice.h"
#include "ssdd/core/config_json.h"
#include "ssdd/core/runtime_options.h"
#include "ssdd/distill/component_options.h"
#include "ssdd/models/image_shape.h"

namespace ssdd::distill {

// The choices of a distillation (core/choice.h): their names in configs and on the
// command line are those of choice_names. ApproxFit is the approximation networks'
// (component_options.h).
enum class Method { ours, krrst };
enum class KrrPrecision { float32, float64 };
enum class RealAugment { crop_flip, none };        // "crop-flip", "none"
enum class Augmentation { predefined, random };
const ChoiceNames<Method>& choice_names(Method);
const ChoiceNames<KrrPrecision>& choice_names(KrrPrecision);
const ChoiceNames<RealAugment>& choice_names(RealAugment);
const ChoiceNames<Augmentation>& choice_names(Augmentation);
SSDD_CHOICE_JSON(Method)
SSDD_CHOICE_JSON(KrrPrecision)
SSDD_CHOICE_JSON(RealAugment)
SSDD_CHOICE_JSON(Augmentation)

struct DistillConfig {
  std::string teacher;            // teacher folder
  std::string data;               // source data set; empty: the teacher's
  std::string data_dir;
  int resolution = 0;             // square side the data is read at; 0: its own, or the teacher's input size
  Method method = Method::ours;
  int64_t budget = 100;           // N, in images
  int64_t iterations = 1000;
  int64_t real_batch = 256;       // KRR-ST: 1024
  double lr = 1e-3;               // AdamW, decayed linearly to lr * lr_end_factor
  double lr_end_factor = 1e-3;
  double ridge = 1e-6;            // lambda = ridge * trace(K_ss)
  // The type the kernels, their Cholesky factor and the solve are computed in: float32 or
  // float64 (for kernels with more rows than features, singular but for the ridge).
  KrrPrecision krr_precision = KrrPrecision::float32;
  PoolOptions pool;
  // krrst: KRR-ST's real batch is randomly cropped (zero padding 4) and flipped, its
  // targets recomputed by the teacher every step ("crop-flip"); "none" uses the cached
  // representations of the un-augmented images (cheaper). `ours` uses its views instead.
  RealAugment real_augment = RealAugment::crop_flip;
  // krrst: count the targets against the budget too (storage-equal with ours: m images of
  // C*H*W + d floats within budget x C*H*W); false: m = budget, KRR-ST's count. ours
  // always counts every float.
  bool count_targets = false;
  // ours
  std::string views = "rot0,rot90,rot180,rot270";
  ParameterizationOptions parameterization;
  ApproximationOptions approximation;
  // predefined: every view of every image each step (the paper). random (ablation): one
  // view drawn per real and per distilled image each step, as random augmentation does.
  Augmentation augmentation = Augmentation::predefined;
  // shared
  int64_t checkpoint_every = 100;
  RuntimeOptions runtime;

  // Flat in JSON under the keys configs have always had (core/config_json.h,
  // component_options.h); the pool stays nested ("pool": {...}).
  static std::vector<ConfigPart> json_parts() {
    return {{"runtime", ""},
            {"parameterization", "", {{"enabled", "parameterization"}}},
            {"approximation", "approx_", {{"enabled", "approximation"}}}};
  }

  nlohmann::json to_json() const;
  // Unknown keys and bad values -> ConfigError naming `where` (the file and section).
  static DistillConfig from_json(const nlohmann::json& j, const std::string& where = "distill config");
  // Counts in range (from_json calls it; so does the CLI after its overrides): ConfigError
  // naming `where`, the key, the range and the value found.
  void validate(const std::string& where) const;
  std::string hash() const;
};

DistillConfig distill_preset(const std::string& name);  // "cpu", "quick", "paper"

// m, the images of a set of this config for source images of `image` and a teacher of
// `rep_dim`: the budget (krrst), or the most whose storage fits the budget (ours).
int64_t distilled_images(const DistillConfig& config, const models::ImageShape& image, int64_t rep_dim);
std::vector<std::string> distill_presets();

struct DistillResult {
  std::vector<double> loss;  // per iteration
  int64_t images = 0;        // m
  double seconds = 0;
  double iterations_per_second = 0;
};

DistillResult run_distill(const DistillConfig& config, const std::string& out_dir, bool resume);

}  // namespace ssdd::distill
