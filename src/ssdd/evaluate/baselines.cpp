#include "ssdd/evaluate/baselines.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <torch/torch.h>

#include "ssdd/core/config_json.h"
#include "ssdd/core/config_paths.h"
#include "ssdd/core/error.h"
#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/core/stop.h"
#include "ssdd/data/registry.h"
#include "ssdd/data/resolution_option.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/set_file.h"
#include "ssdd/distill/storage.h"
#include "ssdd/evaluate/evaluation_memory.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/image_grid.h"
#include "ssdd/io/run_log.h"
#include "ssdd/models/image_shape.h"
#include "ssdd/teacher/representations.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/run_setup.h"

namespace ssdd::evaluate {
namespace {

constexpr int64_t kChunk = 8192;  // rows per distance block: bounds memory at chunk x k

// Squared Euclidean distances of rows of x (c x d) to rows of centroids (k x d).
at::Tensor squared_distances(const at::Tensor& x, const at::Tensor& centroids, const at::Tensor& c_norms) {
  return (x.pow(2).sum(1, true) - 2 * x.matmul(centroids.t()) + c_norms.unsqueeze(0)).clamp_min(0);
}

// Index of the nearest centroid for every row of x.
at::Tensor assign(const at::Tensor& x, const at::Tensor& centroids) {
  const auto c_norms = centroids.pow(2).sum(1);
  std::vector<at::Tensor> parts;
  for (int64_t b = 0; b < x.size(0); b += kChunk)
    parts.push_back(squared_distances(x.slice(0, b, std::min(x.size(0), b + kChunk)), centroids, c_norms).argmin(1));
  return torch::cat(parts);
}

}  // namespace

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(BaselineConfig, method, teacher, data, data_dir, resolution, budget,
                                                kmeans_iterations, views, count_targets, runtime)

nlohmann::json BaselineConfig::to_json() const {
  nlohmann::json j = data::without_native_resolution(config_to_json(*this));
  // Options added after runs were made appear only away from their defaults, so those
  // runs' baseline stages keep their hashes.
  if (views == BaselineConfig{}.views) j.erase("views");
  if (!count_targets) j.erase("count_targets");
  return j;
}

BaselineConfig BaselineConfig::from_json(const nlohmann::json& j, const std::string& where) {
  return validated(config_from_json<BaselineConfig>(j, where), where);
}

void BaselineConfig::validate(const std::string& where) const {
  check_counts(where, {{"budget", budget, 1}, {"kmeans_iterations", kmeans_iterations, 0}});
  data::parse_views(views, where + ": 'views'");
  data::check_resolution(where, resolution);
  runtime.validate(where);
}

const ChoiceNames<BaselineMethod>& choice_names(BaselineMethod) {
  static const ChoiceNames<BaselineMethod> names = {
      {BaselineMethod::random, "random"}, {BaselineMethod::kmeans, "kmeans"}, {BaselineMethod::random_rot, "random-rot"}};
  return names;
}

int64_t baseline_images(const BaselineConfig& config, int64_t image_floats, int64_t rep_dim) {
  if (!config.count_targets) return config.budget;
  const int64_t views = config.method == BaselineMethod::random_rot ? static_cast<int64_t>(data::parse_views(config.views).size()) : 1;
  return distill::images_with_targets_within_budget(config.budget, image_floats, views, rep_dim, choice_name(config.method));
}

at::Tensor random_subset(int64_t n, int64_t budget, uint64_t seed) {
  if (budget < 1 || budget > n)
    throw ConfigError("--budget", "must be between 1 and the " + std::to_string(n) + " source images, found " +
                                      std::to_string(budget));
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randperm(n, gen, torch::kLong).slice(0, 0, budget).contiguous();
}

at::Tensor kmeans(const at::Tensor& points, int64_t k, int64_t iterations, uint64_t seed) {
  if (points.dim() != 2) throw Error("k-means: expected an n x d matrix");
  const int64_t n = points.size(0);
  if (k < 1 || k > n)
    throw ConfigError("--budget", "k-means needs 1 <= k <= " + std::to_string(n) + " points, found k = " +
                                      std::to_string(k));
  torch::NoGradGuard no_grad;
  // Double precision: distances of nearby points in a 128..512-d space should not tie by rounding.
  const auto x = points.detach().to(torch::kCPU, torch::kDouble).contiguous();
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);

  // k-means++ seeding: each next centre drawn with probability proportional to the
  // squared distance to the nearest centre chosen so far.
  std::vector<int64_t> chosen;
  chosen.push_back(torch::randint(0, n, {1}, gen, torch::kLong).item<int64_t>());
  auto min_d2 = (x - x[chosen.back()]).pow(2).sum(1);
  for (int64_t c = 1; c < k; ++c) {
    throw_if_stopped("k-means seeding", c);  // the baseline is redone on resume: nothing to save
    int64_t next;
    if (min_d2.sum().item<double>() > 0) {
      next = torch::multinomial(min_d2, 1, /*replacement=*/false, gen).item<int64_t>();
    } else {  // fewer distinct points than k: any point will do
      next = torch::randint(0, n, {1}, gen, torch::kLong).item<int64_t>();
    }
    chosen.push_back(next);
    min_d2 = torch::minimum(min_d2, (x - x[next]).pow(2).sum(1));
  }
  auto centroids = x.index_select(0, torch::tensor(chosen, torch::kLong)).clone();

  // Lloyd iterations: assign, then move each centroid to the mean of its points.
  at::Tensor previous;
  for (int64_t it = 0; it < iterations; ++it) {
    throw_if_stopped("k-means", it);
    const auto labels = assign(x, centroids);
    if (previous.defined() && labels.equal(previous)) break;  // converged
    previous = labels;
    const auto sums = torch::zeros_like(centroids).index_add_(0, labels, x);
    const auto counts = torch::bincount(labels, {}, k).to(torch::kDouble).unsqueeze(1);
    centroids = torch::where(counts > 0, sums / counts.clamp_min(1), centroids);
  }
  return centroids.to(torch::kFloat);
}

at::Tensor nearest_distinct(const at::Tensor& points, const at::Tensor& centroids) {
  torch::NoGradGuard no_grad;
  const auto x = points.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const auto c = centroids.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const int64_t n = x.size(0), k = c.size(0);
  if (k > n) throw ConfigError("--budget", "more centroids than points");
  // At most k - 1 images are taken before any centroid's turn, so its k nearest always
  // hold a free one.
  const int64_t candidates = std::min(n, k);
  std::vector<at::Tensor> cand_parts, first_parts;
  const auto x_norms = x.pow(2).sum(1);
  for (int64_t b = 0; b < k; b += kChunk) {
    const auto block = c.slice(0, b, std::min(k, b + kChunk));
    const auto d2 = squared_distances(block, x, x_norms);  // block x n
    const auto top = d2.topk(candidates, 1, /*largest=*/false, /*sorted=*/true);
    cand_parts.push_back(std::get<1>(top));
    first_parts.push_back(std::get<0>(top).select(1, 0));
  }
  const auto cand = torch::cat(cand_parts).contiguous();
  const auto order = torch::cat(first_parts).argsort();  // the clearest matches choose first
  auto cand_a = cand.accessor<int64_t, 2>();
  auto order_a = order.accessor<int64_t, 1>();
  std::vector<char> used(static_cast<size_t>(n), 0);
  std::vector<int64_t> picked(static_cast<size_t>(k), -1);
  for (int64_t r = 0; r < k; ++r) {
    const int64_t ci = order_a[r];
    for (int64_t j = 0; j < candidates; ++j) {
      const int64_t i = cand_a[ci][j];
      if (!used[static_cast<size_t>(i)]) {
        used[static_cast<size_t>(i)] = 1;
        picked[static_cast<size_t>(ci)] = i;
        break;
      }
    }
  }
  return torch::tensor(picked, torch::kLong);
}

BaselineResult make_baseline(const BaselineConfig& config, const std::string& out_dir) {
  config.validate("baseline");
  if (config.teacher.empty()) throw ConfigError("--teacher", "a teacher folder is required");
  const auto start = std::chrono::steady_clock::now();
  const auto run = train::start_run("baseline", out_dir, resolve_config_paths(config.to_json(), ""), config.runtime);
  io::RunLog& log = run->log;
  const int threads = run->threads;
  const c10::Device device = run->device;
  const teacher::Teacher t = teacher::load_teacher(config.teacher, device);
  const std::string data_name = config.data.empty() ? t.data : config.data;
  data::LoadOptions load;
  load.data_dir = config.data_dir;
  load.resolution = config.resolution;
  const data::DatasetSplits splits = data::load_dataset_for(data_name, load, t.shape.channels, t.shape.height, t.shape.width);
  const auto& train = splits.train;
  models::check_image_shape("--data", data_name + " holds", models::shape_of_images(train.images),
                            "the teacher in " + config.teacher + " takes", t.shape);
  const int64_t m = baseline_images(config, t.shape.channels * t.shape.height * t.shape.width, t.feature_dim);
  if (m > train.size())  // before the teacher's pass over the whole split
    throw ConfigError("budget", "a " + choice_name(config.method) + " budget of " + std::to_string(m) +
                                    " images exceeds the " + std::to_string(train.size()) +
                                    " images of the source's training set");
  if (config.method == BaselineMethod::kmeans)
    measure::check_memory(kmeans_memory(train.size(), t.feature_dim, m), c10::Device(c10::kCPU));
  log.say("baseline " + choice_name(config.method) + ": " + std::to_string(m) + " of " + std::to_string(train.size()) + " " +
          data_name + " images" + (config.count_targets ? " (targets counted against the budget)" : "") + ", seed " +
          std::to_string(config.runtime.seed) + ", " + std::to_string(threads) + " thread(s)");
  const data::View identity;
  const at::Tensor reps = teacher::representations(t, data_name, "train", train.images, identity, device);

  BaselineResult result;
  if (config.method == BaselineMethod::kmeans) {
    const auto centroids = kmeans(reps, m, config.kmeans_iterations, config.runtime.seed);
    result.indices = nearest_distinct(reps, centroids);
  } else {  // random, random-rot: the first m of the seed's permutation, so the same seed shares images
    result.indices = random_subset(train.size(), m, config.runtime.seed);
  }
  const auto images = data::normalize(train.images.index_select(0, result.indices), splits.norm);
  std::vector<data::View> views = {identity};
  std::vector<at::Tensor> view_targets = {reps.index_select(0, result.indices)};
  if (config.method == BaselineMethod::random_rot) {
    views = data::parse_views(config.views, "baseline views");
    for (size_t v = 1; v < views.size(); ++v)  // every view's target stored, view-major (T*m rows)
      view_targets.push_back(
          teacher::representations(t, data_name, "train", train.images, views[v], device).index_select(0, result.indices));
  }
  nlohmann::json meta = {{"method", config.method},
                         {"budget", config.budget},
                         {"data", data_name},
                         {"teacher_id", t.id},
                         {"teacher_arch", t.arch},
                         {"rep_dim", t.feature_dim},
                         {"norm_mean", splits.norm.mean},
                         {"norm_std", splits.norm.std},
                         {"shape", {train.channels(), train.height(), train.width()}},
                         {"seed", config.runtime.seed},
                         {"source_indices", std::vector<int64_t>(result.indices.data_ptr<int64_t>(),
                                                                 result.indices.data_ptr<int64_t>() +
                                                                     result.indices.numel())}};
  if (config.method == BaselineMethod::kmeans) meta["kmeans_iterations"] = config.kmeans_iterations;
  if (config.count_targets) meta["count_targets"] = true;
  const distill::SetFile set = distill::write_explicit_set(
      out_dir + "/distilled.pt", images, torch::cat(view_targets).contiguous(), views, std::move(meta));

  const auto picked = train.images.index_select(0, result.indices).contiguous();
  io::GridOptions grid;
  grid.columns = 10;
  grid.scale = train.height() < 48 ? 2 : 1;
  io::write_image_grid(out_dir + "/images.png", picked.data_ptr<uint8_t>(), static_cast<int>(picked.size(0)),
                       static_cast<int>(picked.size(1)), static_cast<int>(picked.size(2)),
                       static_cast<int>(picked.size(3)), grid);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  log.say("baseline " + choice_name(config.method) + ": wrote " + out_dir + "/distilled.pt (" + std::to_string(set.images) +
          " images + targets, " + std::to_string(set.stored_image_equivalents) + " image-equivalents) in " +
          std::to_string(result.seconds) + " s");
  return result;
}

}  // namespace ssdd::evaluate
