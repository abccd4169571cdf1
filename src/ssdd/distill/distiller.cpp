#include "ssdd/distill/distiller.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <sstream>
#include <torch/torch.h>

#include "ssdd/core/config_paths.h"
#include "ssdd/core/error.h"
#include "ssdd/core/fault.h"
#include "ssdd/core/format.h"
#include "ssdd/core/stop.h"
#include "ssdd/core/upload.h"
#include "ssdd/data/identity.h"
#include "ssdd/data/registry.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/approximation_check.h"
#include "ssdd/distill/approximation_schedule.h"
#include "ssdd/distill/initial_set.h"
#include "ssdd/distill/outer_step.h"
#include "ssdd/distill/storage.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/io/image_grid.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/run_log.h"
#include "ssdd/io/set_metrics.h"
#include "ssdd/io/svg_chart.h"
#include "ssdd/models/image_shape.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/checkpoint.h"
#include "ssdd/train/fit.h"
#include "ssdd/train/job.h"
#include "ssdd/train/loop.h"
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

// A kernel with more rows than features has rank <= features: K_ss + lambda I is positive
// definite only through the ridge, and lambda = 1e-6 trace(K_ss) lies close to float32's
// rounding (issue 23). Said once, before the pool's staggered start.
void warn_if_rank_deficient(int64_t rows, int64_t features, const DistillConfig& c, io::RunLog& log) {
  if (features >= rows) return;
  std::ostringstream line;
  line << "distill: kernel: " << rows << " rows from " << features << " features (rank <= " << features
       << "): K_ss is singular but for the ridge (lambda = " << c.ridge << " x trace(K_ss), condition up to "
       << 1 / c.ridge << ")";
  if (c.krr_precision == KrrPrecision::float64)
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
  if (config.method == Method::krrst) {
    if (!config.count_targets) return config.budget;
    return images_with_targets_within_budget(config.budget, image.channels * image.height * image.width, 1, rep_dim,
                                             "krrst");
  }
  return max_images_within_budget(ours_sizes(config, image, rep_dim, data::parse_views(config.views)), config.budget);
}

namespace {

// loss.csv and loss.svg: the outer loss (and kernel condition) of every iteration.
void write_curves(const std::string& out_dir, const DistillConfig& config, const std::vector<double>& losses,
                  const std::vector<double>& kernel_conditions) {
  std::string csv = "iteration,loss,kernel_cond\n";
  for (size_t i = 0; i < losses.size(); ++i)
    csv += fmt::format("{},{:f},{:.6g}\n", i + 1, losses[i], kernel_conditions[i]);
  io::write_file_atomic(out_dir + "/loss.csv", csv);
  io::svg::LineChart plot;
  plot.title = "outer loss (" + choice_name(config.method) + ", budget " + std::to_string(config.budget) + ")";
  plot.x_label = "iteration";
  plot.y_label = "KRR loss";
  plot.log_y = true;
  plot.add_series(choice_name(config.method), losses);
  plot.save(out_dir + "/loss.svg");
}

// The checks of a run's settings that the config's own validation leaves to the run (the
// choices are enums, checked where the config was read).
void check_choices(const DistillConfig& config) {
  if (config.teacher.empty()) throw ConfigError("--teacher", "a teacher folder is required");
  if (config.iterations < 1) throw ConfigError("--iterations", "must be at least 1");
}

// What a run distils from: the teacher, the source data and its digest (other images, other
// set: no resume across them), the views, and the teacher's representation of each view.
struct Source {
  teacher::Teacher teacher;
  std::string data_name, data_digest;
  data::DatasetSplits splits;
  std::vector<data::View> views;
  std::vector<at::Tensor> reps;
};

Source open_source(const DistillConfig& config, c10::Device device, train::ProcessGroup* group) {
  Source s{teacher::load_teacher(config.teacher, device), {}, {}, {}, {}, {}};
  const teacher::Teacher& t = s.teacher;
  s.data_name = config.data.empty() ? t.data : config.data;
  data::LoadOptions load;
  load.data_dir = config.data_dir;
  load.resolution = config.resolution;
  s.splits = data::load_dataset_for(s.data_name, load, t.shape.channels, t.shape.height, t.shape.width);
  models::check_image_shape("--data", s.data_name + " holds", models::shape_of_images(s.splits.train.images),
                            "the teacher in " + config.teacher + " takes", t.shape);
  s.data_digest = data::dataset_digest(s.splits);
  s.views = config.method == Method::krrst ? data::parse_views("rot0") : data::parse_views(config.views);
  check_size_and_memory(config, s.splits.train, t.feature_dim, device);
  s.reps = view_representations(t, s.data_name, s.splits.train, s.views, device, group);
  return s;
}

// The random-augmentation ablation: one view per real and per distilled image each step.
bool one_view_each(const DistillConfig& config, size_t views) {
  return config.method == Method::ours && config.augmentation == Augmentation::random && views > 1;
}

// The real batches of SPEC 2 step 1, from the source on the device.
RealBatchSource real_batches(const DistillConfig& config, const Source& s, c10::Device device) {
  RealBatchSource r;
  r.pixels = s.splits.train.images.to(device);
  r.norm = s.splits.norm;
  r.views = s.views;
  for (const auto& rep : s.reps) r.view_targets.push_back(rep.to(device));
  r.batch = std::min(config.real_batch, s.splits.train.size());
  if (config.method == Method::krrst && config.real_augment == RealAugment::crop_flip) r.crop_flip_teacher = &s.teacher.encoder;
  r.one_view_each = one_view_each(config, s.views.size());
  return r;
}

// Every rank computes at least one shard of the pool (before anything is written).
void check_shards_cover_ranks(int64_t shards, int ranks) {
  if (shards < ranks)
    throw ConfigError("--pool-shards", "a job of " + std::to_string(ranks) + " ranks shares the pool's shards, so it "
                                       "needs at least " + std::to_string(ranks) + "; found " + std::to_string(shards) +
                                       " (the set depends on the shards, not on the ranks)");
}

// The shards of the pool this process computes: shard s on rank s % W; every one in one process
// (run_distill has checked that every rank gets one).
std::vector<int64_t> own_shards(int64_t shards, const train::ProcessGroup* group) {
  const int ranks = group ? group->size() : 1, rank = group ? group->rank() : 0;
  std::vector<int64_t> own;
  for (int64_t s = rank; s < shards; s += ranks) own.push_back(s);
  return own;
}

// The outer iterations over train::Loop (resume, checkpoints, the deferred reads of each
// iteration's loss, gradient norm and kernel condition with the divergence guard, progress),
// each one SPEC 2 (outer_step.h). A fresh run staggers the pool first.
class OuterLoop {
 public:
  // `gen` made the initial set; the run draws on from it, the same draws on every rank.
  OuterLoop(const DistillConfig& config, const std::string& out_dir, bool resume, const Source& source,
            DistilledSet& set, at::Generator& gen, train::RunContext& run)
      : config_(config), source_(source), set_(set), device_(run.device), log_(run.log), group_(run.group),
        ckpt_dir_(out_dir + "/checkpoints"), krr_float64_(config.krr_precision == KrrPrecision::float64), gen_(gen),
        optimizer_(set.parameters(), torch::optim::AdamWOptions(config.lr).weight_decay(0.0)),
        pool_(config.pool, source.teacher.shape, source.teacher.feature_dim, device_, config.runtime.seed + 1),
        own_(own_shards(config.pool.shards, group_)), loop_(loop_options(resume), loop_hooks()) {
    pool_.set_own_shards(own_);
  }

  const ModelPool& pool() const { return pool_; }
  const std::vector<double>& losses() const { return losses_; }
  const std::vector<double>& kernel_conditions() const { return kernel_conditions_; }
  double collective_seconds() const { return collective_seconds_; }  // this piece of the run's

  // Runs every iteration left; returns the seconds over all pieces of the run.
  double run() {
    const int64_t start = loop_.start();
    started_ = std::chrono::steady_clock::now();
    const RealBatchSource real = real_batches(config_, source_, device_);
    if (real.batch < pool_.shards())
      throw ConfigError("--pool-shards", fmt::format("{} shards need a real batch of at least {} images; {} holds {}",
                                                     pool_.shards(), pool_.shards(), source_.data_name, real.batch));
    for (int64_t it = start; it < config_.iterations; ++it) {
      train::set_learning_rate(optimizer_, train::linear_decay(it, config_.iterations, config_.lr, config_.lr_end_factor));
      OuterStepOptions step;
      step.ridge = config_.ridge;
      step.iteration = it;
      step.krr_float64 = krr_float64_;
      step.own_shards = own_;
      step.group = group_;
      step.collective_seconds = &collective_seconds_;
      KernelHealth health;
      step.kernel_health = &health;
      const RealBatch batch = draw_real_batch(real, gen_);
      if (real.one_view_each) step.set_rows = upload(random_view_rows(set_.size(), real.views.size(), gen_), device_);
      at::Tensor gradient_norm;
      step.gradient_norm = &gradient_norm;
      if (fault_at("distill.exploding_gradient", it)) step.gradient_scale = 1e30;
      at::Tensor loss = outer_step(set_, pool_, batch, optimizer_, gen_, step);
      if (fault_at("distill.nan_loss", it)) loss = loss * std::numeric_limits<double>::quiet_NaN();
      loop_.after_step(it + 1, {loss, gradient_norm, health.condition}, 1.0, [&] {
        return fmt::format("loss {:.5f} | m {} | kernel cond {:.3g}", losses_.back(), set_.size(),
                           kernel_conditions_.back());
      });
    }
    loop_.finish("done");
    loop_.checkpoint(config_.iterations);
    return seconds();
  }

 private:
  train::LoopOptions loop_options(bool resume) const {
    train::LoopOptions o;
    o.stage = "distill";
    o.progress_label = "distill " + choice_name(config_.method);
    o.total_steps = config_.iterations;
    o.checkpoint_dir = ckpt_dir_;
    o.checkpoint_every = config_.checkpoint_every;
    o.resume = resume;
    o.identity = {{"config_hash", config_.hash()},
                  {"teacher_id", source_.teacher.id},
                  {"data_digest", source_.data_digest}};
    o.identity_added_later = {"data_digest"};
    o.log = [this](const std::string& line) { log_.line(line); };
    o.group = group_;
    return o;
  }

  train::LoopHooks loop_hooks() {
    train::LoopHooks h;
    h.save = [this](int64_t iteration) { return save(iteration); };
    h.restore = [this](const train::Checkpoint& c) { return restore(c); };
    h.fresh_start = [this] { stagger(); };
    h.on_read = [this](int64_t iteration, const std::vector<double>& v) { keep(iteration, v[0], v[1], v[2]); };
    return h;
  }

  // On every rank (a collective): rank 0's pool brought up to date with the shards the
  // others train, so its checkpoint holds the whole pool and resumes on any world size.
  void gather_pool() {
    if (!group_) return;
    for (int64_t s = 0; s < pool_.shards(); ++s) {
      const int owner = static_cast<int>(s % group_->size());
      if (owner == 0) continue;
      const bool mine = group_->rank() == owner;
      const std::string bytes = group_->broadcast_bytes(mine ? io::tensors_to_bytes(pool_.shard_state(s)) : "", owner);
      const std::string from = "rank " + std::to_string(owner) + "'s pool shard " + std::to_string(s);
      if (group_->rank() == 0) pool_.load_shard_state(s, io::tensors_from_bytes(bytes, from), from);
    }
  }

  train::Checkpoint save(int64_t iteration) {
    gather_pool();
    train::Checkpoint c;
    const auto params = set_.parameters();
    for (size_t i = 0; i < params.size(); ++i) c.tensors["set." + std::to_string(i)] = params[i].detach();
    c.tensors["optimizer"] = train::optimizer_state(optimizer_);
    for (auto& [k, v] : pool_.state()) c.tensors[k] = v;
    c.tensors["generator"] = gen_.get_state();
    c.meta = {{"iteration", iteration},
              {"loss", losses_},
              {"kernel_cond", kernel_conditions_},
              {"seconds", seconds()}};
    return c;
  }

  int64_t restore(const train::Checkpoint& c) {
    {
      torch::NoGradGuard no_grad;
      const auto params = set_.parameters();
      for (size_t i = 0; i < params.size(); ++i) params[i].copy_(c.tensors.at("set." + std::to_string(i)));
    }
    train::load_optimizer_state(optimizer_, c.tensors.at("optimizer"));
    pool_.load_state(c.tensors, ckpt_dir_);
    gen_.set_state(c.tensors.at("generator"));
    losses_ = c.meta.at("loss").get<std::vector<double>>();
    kernel_conditions_ = saved_kernel_conditions(c.meta, losses_.size());
    previous_seconds_ = c.meta.at("seconds");
    return c.meta.at("iteration").get<int64_t>();
  }

  void stagger() {
    torch::NoGradGuard no_grad;
    log_.say("distill: staggering the pool (" + std::to_string(config_.pool.size) + " models, up to " +
             std::to_string(config_.pool.max_steps) + " steps each)");
    const at::Tensor x = set_.view_images(), y = set_.view_targets();
    torch::AutoGradMode grad(true);  // the pool trains with gradients of its own
    std::optional<train::Progress> progress;
    pool_.stagger(x, y, gen_, [&](int64_t done, int64_t total) {
      if (!progress) {
        progress.emplace("distill: pool stagger", total, "steps/s");
        progress->set_log([this](const std::string& line) { log_.line(line); });
        progress->set_terminal(!group_ || group_->rank() == 0);
      }
      progress->update(done, "");
      throw_if_stopped("distill", 0);  // nothing to keep: a resumed run staggers afresh
    });
    if (progress) progress->finish("done");
  }

  // The divergence guard, at each read: a non-finite loss, or a non-finite or huge gradient
  // norm (divergence even while AdamW's normalised steps keep the loss looking sane), stops
  // the run before any checkpoint could keep it.
  void keep(int64_t iteration, double loss, double gradient_norm, double condition) {
    const std::string kept = "; the last good checkpoint is kept in " + ckpt_dir_;
    if (!std::isfinite(loss))
      throw NumericsError("distill", iteration,
                          "the outer loss became " + std::to_string(loss) +
                              (device_.is_cuda() ? " (on a GPU this includes a singular kernel K_ss + lambda I)" : "") +
                              kept);
    if (!std::isfinite(gradient_norm) || gradient_norm > kMaxGradientNorm)
      throw NumericsError("distill", iteration,
                          fmt::format("exploding gradients: the distilled set's gradient norm reached {:.3g} "
                                      "(limit 1e12){}",
                                      gradient_norm, kept));
    losses_.push_back(loss);
    kernel_conditions_.push_back(condition);
  }

  // Over every piece of the run; this one's counted from its first iteration.
  double seconds() const {
    return previous_seconds_ + std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  const DistillConfig& config_;
  const Source& source_;
  DistilledSet& set_;
  const c10::Device device_;
  io::RunLog& log_;
  train::ProcessGroup* const group_;  // null in one process
  const std::string ckpt_dir_;
  const bool krr_float64_;
  at::Generator& gen_;
  torch::optim::AdamW optimizer_;
  ModelPool pool_;
  const std::vector<int64_t> own_;  // the shards this process computes
  train::Loop loop_;
  std::vector<double> losses_, kernel_conditions_;  // per iteration
  double previous_seconds_ = 0;
  double collective_seconds_ = 0;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace
DistillResult run_distill(const DistillConfig& config, const std::string& out_dir, bool resume) {
  check_choices(config);
  check_shards_cover_ranks(config.pool.shards, train::job_world().size);
  // The outer step needs autograd whatever the caller's mode (a caller in a no-grad
  // region would otherwise get "does not require grad" at the first backward).
  torch::AutoGradMode grad_on(true);
  // config.json with absolute paths: `ssdd distill --config` reads it from any folder.
  const auto run = train::start_run("distill", out_dir, resolve_config_paths(config.to_json(), ""), config.runtime,
                                    train::Ranks::many);
  io::RunLog& log = run->log;
  const c10::Device device = run->device;
  const Source source = open_source(config, device, run->group);
  const teacher::Teacher& t = source.teacher;
  const data::DatasetSplits& splits = source.splits;

  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(config.runtime.seed);
  DistilledSet set = initial_set(config, splits, source.views, source.reps, gen, device, log);
  set.meta = {{"method", config.method},  {"budget", config.budget},     {"data", source.data_name},
              {"teacher_id", t.id},       {"teacher_arch", t.arch},      {"rep_dim", t.feature_dim},
              {"norm_mean", splits.norm.mean}, {"norm_std", splits.norm.std},
              {"shape", {splits.train.channels(), splits.train.height(), splits.train.width()}},
              {"m", set.size()},          {"config_hash", config.hash()},
              {"data_digest", source.data_digest}};
  OuterLoop outer(config, out_dir, resume, source, set, gen, *run);
  // K_ss of each step: every view of every distilled image, or one view of each.
  const int64_t kernel_rows = one_view_each(config, source.views.size()) ? set.size() : set.size() * set.views();
  const int64_t kernel_features = outer.pool().feature_dim() + 1;  // the bias column
  warn_if_rank_deficient(kernel_rows, kernel_features, config, log);
  const double seconds = outer.run();
  DistillResult result;
  result.loss = outer.losses();
  result.images = set.size();
  result.seconds = seconds;
  result.iterations_per_second = config.iterations / std::max(seconds, 1e-9);
  if (run->group)
    log.say(fmt::format("distill: {} shard(s) on {} ranks; the step's collectives took {:.1f} s of this piece's "
                        "iterations (waiting for the slowest rank included)",
                        config.pool.shards, run->group->size(), outer.collective_seconds()));
  if (!run->leads()) return result;  // every rank holds the same set; rank 0 writes it
  set = finish_approximation(set, t, config, log);

  const StorageReport storage = set.storage();
  set.meta["storage"] = storage.to_json();
  if (config.method == Method::ours && storage.image_equivalents() > static_cast<double>(config.budget) + 1e-9)
    throw Error("distill: the set takes " + std::to_string(storage.image_equivalents()) + " images, over the budget");
  set.save(out_dir + "/distilled.pt");
  log.say("distill: storage\n" + storage.table());
  write_curves(out_dir, config, outer.losses(), outer.kernel_conditions());
  write_image_grid(out_dir + "/images.png", set, splits.norm, 10);
  // Issue 10: the approximation networks against the teacher on held-out images.
  const auto approx_check = check_approximation_heldout(set, t, source.data_name, splits.test, device);
  if (!approx_check.empty())
    log.say("distill: approximation networks on held-out images, R^2 to the teacher per view (networks / no shift / "
            "basis ceiling / networks in sample): " + summary_line(approx_check));

  io::SetMetrics metrics;
  metrics.loss = result.loss;
  metrics.final_loss = result.loss.empty() ? 0.0 : result.loss.back();
  metrics.kernel =
      kernel_summary(kernel_rows, kernel_features, choice_name(config.krr_precision), outer.kernel_conditions());
  metrics.m = set.size();
  metrics.seconds = seconds;
  metrics.iterations_per_second = result.iterations_per_second;
  metrics.storage = storage.summary();
  metrics.approximation_heldout = approx_check;
  metrics.threads = run->threads;
  metrics.ranks = run->world.size;
  metrics.collective_seconds = outer.collective_seconds();
  io::write_json_file(out_dir + "/metrics.json", io::to_json(metrics));
  return result;
}

}  // namespace ssdd::distill
