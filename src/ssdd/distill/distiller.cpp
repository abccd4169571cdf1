#include "ssdd/distill/distiller.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <iomanip>
#include <sstream>

#include "ssdd/core/config_json.h"
#include "ssdd/core/config_paths.h"
#include "ssdd/core/error.h"
#include "ssdd/core/fault.h"
#include "ssdd/core/format.h"
#include "ssdd/core/hash.h"
#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/core/stop.h"
#include "ssdd/core/upload.h"
#include "ssdd/data/crop_flip.h"
#include "ssdd/data/identity.h"
#include "ssdd/data/registry.h"
#include "ssdd/data/resolution_option.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/approximation_check.h"
#include "ssdd/distill/initial_set.h"
#include "ssdd/distill/memory_estimate.h"
#include "ssdd/distill/outer_step.h"
#include "ssdd/distill/storage.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/image_grid.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/run_log.h"
#include "ssdd/io/svg_chart.h"
#include "ssdd/measure/similarity.h"
#include "ssdd/models/image_shape.h"
#include "ssdd/teacher/representations.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/checkpoint.h"
#include "ssdd/train/progress.h"
#include "ssdd/train/run_setup.h"
#include "ssdd/train/schedule.h"
#include "ssdd/train/state.h"

namespace ssdd::distill {

namespace {

// The divergence guard's limit on the distilled set's gradient norm. Healthy runs stay far
// below it (outer losses are O(1e-3..1) on normalised images); only a blow-up reaches it.
constexpr double kMaxGradientNorm = 1e12;

// Grid of the decoded images (pixel space), one row per view for `ours`.
void write_image_grid(const std::string& path, DistilledSet& set, const data::Normalization& norm, int64_t per_row) {
  torch::NoGradGuard no_grad;
  const int64_t m = std::min<int64_t>(set.size(), per_row);
  const at::Tensor images = set.images().slice(0, 0, m).to(torch::kCPU);
  std::vector<at::Tensor> rows;
  std::vector<std::string> labels;
  for (const auto& v : set.view_list()) {
    rows.push_back(data::apply_view(images, v));
    labels.push_back(v.name());
  }
  at::Tensor x = torch::cat(rows);
  const auto c = x.size(1);
  const auto shape = std::vector<int64_t>{1, c, 1, 1};
  const auto mean = torch::tensor(norm.mean.size() == 1 ? std::vector<float>(c, norm.mean[0]) : norm.mean).view(shape);
  const auto std = torch::tensor(norm.std.size() == 1 ? std::vector<float>(c, norm.std[0]) : norm.std).view(shape);
  x = (x * std + mean).clamp(0, 1).mul(255).round().to(torch::kUInt8).contiguous();
  io::GridOptions grid;
  grid.columns = static_cast<int>(m);
  grid.scale = x.size(2) < 48 ? 2 : 1;
  grid.row_labels = labels;
  io::write_image_grid(path, x.data_ptr<uint8_t>(), static_cast<int>(x.size(0)), static_cast<int>(c),
                       static_cast<int>(x.size(2)), static_cast<int>(x.size(3)), grid);
}

// SPEC 5 (iii): after distillation, re-fit each q_t so that it maps the final
// representation coefficients C_y to the coefficients of the teacher's representation
// of the rotated distilled image, g(a_t(X_s)), in the final representation basis
// (least squares, since the optimised basis is no longer orthonormal). Without
// parameterization q_t maps Y_s to g(a_t(X_s)) itself.
void refit_approximation(DistilledSet& set, const teacher::Teacher& t, const DistillConfig& c, io::RunLog& log) {
  ParameterizedSet* param = set.param();
  ApproximationNets approx = set.approx();
  if (!approx || c.approx_refit_steps <= 0) return;
  std::vector<at::Tensor> targets;
  at::Tensor coeffs;
  {
    torch::NoGradGuard no_grad;
    const at::Tensor images = set.images();
    for (int64_t v = 1; v < set.views(); ++v) {
      const at::Tensor reps = t.encoder->features(data::apply_view(images, set.view_list()[static_cast<size_t>(v)]));
      targets.push_back(param ? param->coeffs_from_reps(reps) : reps);
    }
    coeffs = set.approx_inputs().detach().clone();
  }
  ApproximationFitOptions fit;
  fit.steps = c.approx_refit_steps;
  fit.seed = c.seed + 2;
  const auto mse = fit_approximation(approx, coeffs, targets, fit);
  std::ostringstream line;
  line << "distill: approximation networks re-fitted on the " << coeffs.size(0) << " final pairs, MSE per view:";
  for (double e : mse) line << " " << e;
  log.say(line.str());
}

// approx_fit = after: distillation kept every view's targets (T*m rows, view-major); fit
// each q_t to map the identity's final coefficients (or targets, without parameterization)
// to view t's, and return the set that ships: the identity's rows and the networks.
DistilledSet approximate_learned_views(DistilledSet& set, const DistillConfig& c, io::RunLog& log) {
  const int64_t m = set.size(), views = set.views();
  const at::Tensor all = set.approx_inputs().detach();
  if (all.size(0) != views * m)
    throw Error("distill: expected " + std::to_string(views * m) + " rows of targets before fitting the "
                "approximation networks, found " + std::to_string(all.size(0)));
  const at::Tensor identity = all.slice(0, 0, m).clone();
  std::vector<at::Tensor> targets;
  for (int64_t v = 1; v < views; ++v) targets.push_back(all.slice(0, v * m, (v + 1) * m));
  ApproximationNets approx(views, all.size(1), c.approx_hidden);
  approx->to(all.device());
  ApproximationFitOptions fit;
  fit.steps = c.approx_fit_steps;
  fit.seed = c.seed + 2;
  const auto mse = fit_approximation(approx, identity, targets, fit);
  std::ostringstream line;
  line << std::setprecision(4) << "distill: approximation networks fitted to the " << m
       << " learned targets of each view, MSE / R^2 per view:";
  {
    torch::NoGradGuard no_grad;
    for (int64_t v = 1; v < views; ++v)
      line << " " << mse[static_cast<size_t>(v - 1)] << " / "
           << measure::r_squared(approx->forward(identity, v), targets[static_cast<size_t>(v - 1)]);
  }
  log.say(line.str());
  DistilledSet shipped = [&] {
    if (ParameterizedSet* p = set.param()) {
      ParameterizedSet kept = *p;
      kept.rep_coeffs = identity.requires_grad_(true);
      return DistilledSet::parameterized_form(std::move(kept), approx, set.view_list());
    }
    return DistilledSet::explicit_form(set.images().detach().requires_grad_(true), identity.requires_grad_(true),
                                       set.view_list(), approx);
  }();
  shipped.meta = set.meta;
  return shipped;
}

// A kernel with more rows than features has rank <= features: K_ss + lambda I is positive
// definite only through the ridge, and lambda = 1e-6 trace(K_ss) lies close to float32's
// rounding (issue 23). Said once, before the pool's staggered start.
void warn_if_rank_deficient(int64_t rows, int64_t features, const DistillConfig& c, io::RunLog& log) {
  if (features >= rows) return;
  std::ostringstream line;
  line << "distill: kernel: " << rows << " rows from " << features << " features (rank <= " << features
       << "): K_ss is singular but for the ridge (lambda = " << c.ridge << " x trace(K_ss), condition up to "
       << 1 / c.ridge << ")";
  if (c.krr_float64())
    line << "; solved in float64 (krr_precision)";
  else
    line << ", near float32's rounding; widen the inner model (--pool-arch, more than " << rows
         << " features) or solve in float64 (--krr-precision float64)";
  log.say(line.str());
}

// The per-iteration condition estimates a checkpoint holds: JSON keeps NaN as null, and a
// checkpoint made before they were recorded holds none (NaN for each of its iterations).
std::vector<double> saved_kernel_conditions(const nlohmann::json& meta, size_t iterations) {
  std::vector<double> conditions(iterations, std::numeric_limits<double>::quiet_NaN());
  const auto saved = meta.find("kernel_cond");
  if (saved == meta.end() || !saved->is_array()) return conditions;
  for (size_t i = 0; i < std::min(iterations, saved->size()); ++i)
    if ((*saved)[i].is_number()) conditions[i] = (*saved)[i].get<double>();
  return conditions;
}

// metrics.json's summary of the kernel: its size and the condition estimates' first, last
// and largest value (null when none was recorded).
nlohmann::json kernel_summary(int64_t rows, int64_t features, const std::string& precision,
                              const std::vector<double>& conditions) {
  nlohmann::json first, last, largest;
  for (double c : conditions) {
    if (!std::isfinite(c)) continue;
    if (first.is_null()) first = c;
    last = c;
    if (largest.is_null() || c > largest.get<double>()) largest = c;
  }
  return {{"rows", rows}, {"features", features}, {"precision", precision},
          {"condition_first", first}, {"condition_last", last}, {"condition_max", largest}};
}

}  // namespace

int64_t distilled_images(const DistillConfig& config, const models::ImageShape& image, int64_t rep_dim) {
  if (config.method == "krrst") {
    if (!config.count_targets) return config.budget;
    return images_with_targets_within_budget(config.budget, image.channels * image.height * image.width, 1, rep_dim,
                                             "krrst");
  }
  return max_images_within_budget(ours_sizes(config, image, rep_dim, data::parse_views(config.views)), config.budget);
}

DistillResult run_distill(const DistillConfig& config, const std::string& out_dir, bool resume) {
  if (config.method != "ours" && config.method != "krrst")
    throw ConfigError("--method", "expected ours or krrst, found '" + config.method + "'");
  if (config.teacher.empty()) throw ConfigError("--teacher", "a teacher folder is required");
  if (config.real_augment != "crop-flip" && config.real_augment != "none")
    throw ConfigError("--real-augment", "expected crop-flip or none, found '" + config.real_augment + "'");
  if (config.augmentation != "predefined" && config.augmentation != "random")
    throw ConfigError("--augmentation", "expected predefined or random, found '" + config.augmentation + "'");
  if (config.iterations < 1) throw ConfigError("--iterations", "must be at least 1");
  const bool krr_float64 = config.krr_float64("--krr-precision");
  // The outer step needs autograd whatever the caller's mode (a caller in a no-grad
  // region would otherwise get "does not require grad" at the first backward).
  torch::AutoGradMode grad_on(true);
  if (config.approx_fit != "joint" && config.approx_fit != "after")
    throw ConfigError("--approx-fit", "expected joint or after, found '" + config.approx_fit + "'");
  // config.json with absolute paths: `ssdd distill --config` reads it from any folder.
  const auto run = train::start_run("distill", out_dir, resolve_config_paths(config.to_json(), ""), config.threads,
                                    config.device, config.seed);
  io::RunLog& log = run->log;
  const int threads = run->threads;
  const c10::Device device = run->device;

  const teacher::Teacher t = teacher::load_teacher(config.teacher, device);
  const std::string data_name = config.data.empty() ? t.data : config.data;
  data::LoadOptions load;
  load.data_dir = config.data_dir;
  load.resolution = config.resolution;
  const data::DatasetSplits splits = data::load_dataset_for(data_name, load, t.shape.channels, t.shape.height, t.shape.width);
  models::check_image_shape("--data", data_name + " holds", models::shape_of_images(splits.train.images),
                            "the teacher in " + config.teacher + " takes", t.shape);
  const std::string data_digest = data::dataset_digest(splits);  // other images, other set: no resume across
  const auto views = config.method == "krrst" ? data::parse_views("rot0") : data::parse_views(config.views);
  check_size_and_memory(config, splits.train, t.feature_dim, device);
  const auto reps = view_representations(t, data_name, splits.train, views, device);

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(config.seed);
  DistilledSet set = initial_set(config, splits, views, reps, gen, device, log);
  set.meta = {{"method", config.method},  {"budget", config.budget},     {"data", data_name},
              {"teacher_id", t.id},       {"teacher_arch", t.arch},      {"rep_dim", t.feature_dim},
              {"norm_mean", splits.norm.mean}, {"norm_std", splits.norm.std},
              {"shape", {splits.train.channels(), splits.train.height(), splits.train.width()}},
              {"m", set.size()},          {"config_hash", config.hash()},
              {"data_digest", data_digest}};
  torch::optim::AdamW optimizer(set.parameters(), torch::optim::AdamWOptions(config.lr).weight_decay(0.0));
  ModelPool pool(config.pool, t.shape, t.feature_dim, device, config.seed + 1);
  const bool random_views = config.method == "ours" && config.augmentation == "random" && views.size() > 1;
  // K_ss of each step: every view of every distilled image, or one view of each.
  const int64_t kernel_rows = random_views ? set.size() : set.size() * set.views();
  const int64_t kernel_features = pool.feature_dim() + 1;  // the bias column
  warn_if_rank_deficient(kernel_rows, kernel_features, config, log);

  const std::string ckpt_dir = out_dir + "/checkpoints";
  std::vector<double> losses, kernel_conditions;  // per iteration
  int64_t start = 0;
  double previous_seconds = 0;
  std::string note;
  auto checkpoint = resume ? train::load_checkpoint(ckpt_dir, &note) : std::nullopt;
  if (checkpoint) {
    if (checkpoint->meta.value("config_hash", "") != config.hash() || checkpoint->meta.value("teacher_id", "") != t.id ||
        checkpoint->meta.value("data_digest", data_digest) != data_digest)
      throw ConfigError(ckpt_dir, "the checkpoint belongs to another configuration, teacher or source data; use a "
                                  "new output folder");
    {
      torch::NoGradGuard no_grad;
      const auto params = set.parameters();
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(checkpoint->tensors.at("set." + std::to_string(i)));
    }
    train::load_optimizer_state(optimizer, checkpoint->tensors.at("optimizer"));
    pool.load_state(checkpoint->tensors, ckpt_dir);
    gen.set_state(checkpoint->tensors.at("generator"));
    start = checkpoint->meta.at("iteration");
    losses = checkpoint->meta.at("loss").get<std::vector<double>>();
    kernel_conditions = saved_kernel_conditions(checkpoint->meta, losses.size());
    previous_seconds = checkpoint->meta.at("seconds");
    log.say("distill: " + note + " at iteration " + std::to_string(start));
  } else {
    torch::NoGradGuard no_grad;
    log.say("distill: staggering the pool (" + std::to_string(config.pool.size) + " models, up to " +
            std::to_string(config.pool.max_steps) + " steps each)");
    const at::Tensor x = set.view_images(), y = set.view_targets();
    torch::AutoGradMode grad(true);  // the pool trains with gradients of its own
    pool.stagger(x, y, gen);
  }

  const auto& train = splits.train;
  const int64_t n_real = std::min(config.real_batch, train.size());
  // What the loop gathers from lives on the device (identity on the CPU), so a step
  // sends it nothing but indices.
  const at::Tensor train_images = train.images.to(device);
  std::vector<at::Tensor> device_reps;
  for (const auto& r : reps) device_reps.push_back(r.to(device));
  train::Progress progress("distill " + config.method, config.iterations, "it/s", start);
  progress.set_log([&](const std::string& line) { log.line(line); });
  const auto started = std::chrono::steady_clock::now();
  auto save_checkpoint = [&](int64_t iteration) {
    train::Checkpoint c;
    const auto params = set.parameters();
    for (size_t i = 0; i < params.size(); ++i) c.tensors["set." + std::to_string(i)] = params[i].detach();
    c.tensors["optimizer"] = train::optimizer_state(optimizer);
    for (auto& [k, v] : pool.state()) c.tensors[k] = v;
    c.tensors["generator"] = gen.get_state();
    const double seconds = previous_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    c.meta = {{"iteration", iteration}, {"loss", losses},    {"kernel_cond", kernel_conditions}, {"seconds", seconds},
              {"config_hash", config.hash()}, {"teacher_id", t.id}, {"data_digest", data_digest}};
    train::save_checkpoint(ckpt_dir, c);
  };
  // The losses stay on the device until a progress line, a checkpoint or the end reads
  // them in one transfer: reading each one would stall a GPU every iteration. A non-finite
  // loss is caught at that read, before any checkpoint could keep it.
  // Each iteration's gradient norm is checked at the same read: a non-finite or huge one
  // means divergence even while AdamW's normalised steps keep the loss looking sane. The
  // kernel's condition estimates are read there too.
  std::vector<at::Tensor> pending, pending_norms, pending_conditions;
  auto read_losses = [&] {
    if (pending.empty()) return;
    const at::Tensor values = torch::stack(pending).to(torch::kCPU, torch::kDouble);
    const at::Tensor norms = torch::stack(pending_norms).to(torch::kCPU, torch::kDouble);
    const at::Tensor conditions = torch::stack(pending_conditions).to(torch::kCPU, torch::kDouble);
    pending.clear();
    pending_norms.clear();
    pending_conditions.clear();
    const auto v = values.accessor<double, 1>();
    const auto g = norms.accessor<double, 1>();
    const auto k = conditions.accessor<double, 1>();
    for (int64_t i = 0; i < v.size(0); ++i) {
      const auto iteration = static_cast<long long>(losses.size());
      const std::string kept = "; the last good checkpoint is kept in " + ckpt_dir;
      if (!std::isfinite(v[i]))
        throw NumericsError("distill", iteration,
                            "the outer loss became " + std::to_string(v[i]) +
                                (device.is_cuda() ? " (on a GPU this includes a singular kernel K_ss + lambda I)" : "") + kept);
      if (!std::isfinite(g[i]) || g[i] > kMaxGradientNorm) {
        throw NumericsError("distill", iteration,
                            fmt::format("exploding gradients: the distilled set's gradient norm reached {:.3g} "
                                        "(limit 1e12){}",
                                        g[i], kept));
      }
      losses.push_back(v[i]);
      kernel_conditions.push_back(k[i]);
    }
  };
  for (int64_t it = start; it < config.iterations; ++it) {
    for (auto& group : optimizer.param_groups())
      group.options().set_lr(train::linear_decay(it, config.iterations, config.lr, config.lr_end_factor));
    // A real batch with every predefined view, targets from the teacher cache.
    const at::Tensor index = upload(torch::randint(0, train.size(), {n_real}, gen, torch::kLong), device);
    RealBatch real;
    OuterStepOptions step;
    step.ridge = config.ridge;
    step.iteration = it;
    step.krr_float64 = krr_float64;
    KernelHealth health;
    step.kernel_health = &health;
    const at::Tensor pixels = train_images.index_select(0, index);
    if (config.method == "krrst" && config.real_augment == "crop-flip") {
      real.images = data::normalize(data::random_crop_flip(pixels, 4, gen), splits.norm);
      torch::NoGradGuard no_grad;
      real.targets = t.encoder->features(real.images);
    } else {
      real.images = data::apply_views(data::normalize(pixels, splits.norm), views);
      std::vector<at::Tensor> targets;
      for (const auto& r : device_reps) targets.push_back(r.index_select(0, index));
      real.targets = torch::cat(targets);
      if (random_views) {
        const at::Tensor rows = upload(random_view_rows(n_real, views.size(), gen), device);
        real.images = real.images.index_select(0, rows);
        real.targets = real.targets.index_select(0, rows);
        step.set_rows = upload(random_view_rows(set.size(), views.size(), gen), device);
      }
    }
    at::Tensor gradient_norm;
    step.gradient_norm = &gradient_norm;
    if (fault_at("distill.exploding_gradient", it)) step.gradient_scale = 1e30;
    at::Tensor loss = outer_step(set, pool, real, optimizer, gen, step);
    if (fault_at("distill.nan_loss", it)) loss = loss * std::numeric_limits<double>::quiet_NaN();
    pending.push_back(loss);
    pending_norms.push_back(gradient_norm);
    pending_conditions.push_back(health.condition);
    progress.update(it + 1, [&] {
      read_losses();
      return fmt::format("loss {:.5f} | m {} | kernel cond {:.3g}", losses.back(), set.size(), kernel_conditions.back());
    });
    // A SIGINT/SIGTERM (core/stop.h) ends the run here, after a checkpoint of this step.
    const bool stopping = stop_requested() && it + 1 < config.iterations;
    if (((it + 1) % config.checkpoint_every == 0 && it + 1 < config.iterations) || stopping) {
      read_losses();
      save_checkpoint(it + 1);
    }
    if (stopping) throw Stopped(stop_signal(), "distill", it + 1);
  }
  read_losses();
  progress.finish("done");
  save_checkpoint(config.iterations);

  if (ships_approximation(config, views.size()) && config.approx_fit == "after")
    set = approximate_learned_views(set, config, log);
  else
    refit_approximation(set, t, config, log);
  const double seconds = previous_seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const StorageReport storage = set.storage();
  set.meta["storage"] = storage.to_json();
  if (config.method == "ours" && storage.image_equivalents() > static_cast<double>(config.budget) + 1e-9)
    throw Error("distill: the set takes " + std::to_string(storage.image_equivalents()) + " images, over the budget");
  set.save(out_dir + "/distilled.pt");
  log.say("distill: storage\n" + storage.table());

  std::string csv = "iteration,loss,kernel_cond\n";
  for (size_t i = 0; i < losses.size(); ++i)
    csv += fmt::format("{},{:f},{:.6g}\n", i + 1, losses[i], kernel_conditions[i]);
  io::write_file_atomic(out_dir + "/loss.csv", csv);
  io::svg::LineChart plot;
  plot.title = "outer loss (" + config.method + ", budget " + std::to_string(config.budget) + ")";
  plot.x_label = "iteration";
  plot.y_label = "KRR loss";
  plot.log_y = true;
  plot.add_series(config.method, losses);
  plot.save(out_dir + "/loss.svg");
  write_image_grid(out_dir + "/images.png", set, splits.norm, 10);
  // Issue 10: the approximation networks against the teacher on held-out images.
  const auto approx_check = check_approximation_heldout(set, t, data_name, splits.test, device);
  if (!approx_check.empty())
    log.say("distill: approximation networks on held-out images, R^2 to the teacher per view (networks / no shift / "
            "basis ceiling / networks in sample): " + summary_line(approx_check));

  DistillResult result;
  result.loss = losses;
  result.images = set.size();
  result.seconds = seconds;
  result.iterations_per_second = config.iterations / std::max(seconds, 1e-9);
  io::write_json_file(out_dir + "/metrics.json",
             {{"loss", losses},
              {"final_loss", losses.empty() ? 0.0 : losses.back()},
              {"kernel", kernel_summary(kernel_rows, kernel_features, config.krr_precision, kernel_conditions)},
              {"m", set.size()},
              {"seconds", seconds},
              {"iterations_per_second", result.iterations_per_second},
              {"storage", storage.to_json()},
              {"approximation_heldout", to_json(approx_check)},
              {"threads", threads}});
  return result;
}

}  // namespace ssdd::distill
