#include "ssdd/teacher/teacher.h"

#include <chrono>
#include <iostream>
#include <map>
#include <mutex>
#include <set>

#include "ssdd/core/config_hash.h"
#include "ssdd/core/config_json.h"
#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/core/hash.h"
#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/data/identity.h"
#include "ssdd/data/registry.h"
#include "ssdd/data/resolution_option.h"
#include "ssdd/data/ssl_augment.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/run_log.h"
#include "ssdd/io/svg_chart.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/io/tensor_checksum.h"
#include "ssdd/models/batch_norm.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/backbone_probe.h"
#include "ssdd/teacher/barlow_twins.h"
#include "ssdd/teacher/teacher_step.h"
#include "ssdd/train/autograd_collectives.h"
#include "ssdd/train/fit.h"
#include "ssdd/train/job.h"
#include "ssdd/train/run_setup.h"
#include "ssdd/train/schedule.h"
#include "ssdd/train/state.h"

namespace ssdd::teacher {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(TeacherConfig, data, data_dir, resolution, arch, projector, lambda, loss_scale,
                                                optimizer, lr, weight_decay, lars_eta, momentum, warmup_epochs, epochs,
                                                batch_size, crop_scale_min, precision, probe_epochs, probe_every,
                                                runtime)

const ChoiceNames<Optimizer>& choice_names(Optimizer) {
  static const ChoiceNames<Optimizer> names = {{Optimizer::lars, "lars"}, {Optimizer::sgd, "sgd"}};
  return names;
}

nlohmann::json TeacherConfig::to_json() const {
  nlohmann::json j = data::without_native_resolution(config_to_json(*this));
  if (precision == Precision::float32) j.erase("precision");  // teachers trained before it keep their ids
  return j;
}

TeacherConfig TeacherConfig::from_json(const nlohmann::json& j, const std::string& where) {
  return validated(config_from_json<TeacherConfig>(j, where), where);
}

void TeacherConfig::validate(const std::string& where) const {
  check_counts(where, {{"epochs", epochs, 1},
                       {"warmup_epochs", warmup_epochs, 0},
                       {"batch_size", batch_size, 2},  // Barlow Twins standardises over the batch
                       {"probe_epochs", probe_epochs, 1},
                       {"probe_every", probe_every, 0}});
  data::check_resolution(where, resolution);
  for (int64_t width : projector) check_at_least(where, "projector", width, 1);
  runtime.validate(where);
}

std::string TeacherConfig::hash() const {
  // Threads can change float summation order on some kernels, but a run resumed on another
  // thread count is still the same teacher (core/config_hash.h). The probe reports on the
  // weights and never changes them.
  return settings_hash(hashed_settings(to_json(), {"probe_epochs", "probe_every"}));
}

std::string teacher_id(const TeacherConfig& config, const std::string& data_digest) {
  data::LoadOptions load;
  load.data_dir = config.data_dir;
  load.resolution = config.resolution;
  const std::string digest = data_digest.empty() ? data::dataset_digest(config.data, load) : data_digest;
  return hash_hex(config.hash() + "|data " + digest);
}

std::vector<std::string> teacher_presets() { return {"cpu", "quick", "paper"}; }

TeacherConfig teacher_preset(const std::string& name) {
  TeacherConfig c;
  if (name == "cpu") {
    // The recipe of issue 12's search on 2 CPU cores (docs/teacher.md has the curves):
    // ResNet18 at width 32 (256-d representation), 16 epochs: 81 minutes of training on
    // Fashion-MNIST, probe 90.56%. Width buys more per hour than epochs: width 32 trains at
    // about 182 images/s against width 16's 245-267 (4x the FLOPs for 1.4x the time), and its
    // 4th epoch (21 minutes) probes about as high as width 16's 24th (89.26% against 89.34%,
    // about 1.5 hours). The probe rises most while the cosine decays, so a longer schedule
    // beats stopping a long one early. 28x28 images are small, so the crops keep at least 30%
    // of the area; configs/cifar10-cpu.toml sets its own teacher for CIFAR-10.
    c.arch = "resnet18:32";
    c.projector = {1024, 1024, 1024};
    c.epochs = 16;
    c.warmup_epochs = 1;
    c.crop_scale_min = 0.3;
  } else if (name == "quick") {
    c.arch = "convnet:32-64-128:gap";
    c.projector = {256, 256};
    c.epochs = 2;
    c.warmup_epochs = 0;
    c.probe_epochs = 10;
  } else if (name == "paper") {
    // ResNet18 (CIFAR stem), Barlow Twins as in solo-learn's CIFAR recipe.
    c.data = "cifar100";
    c.arch = "resnet18";
    c.projector = {2048, 2048, 2048};
    c.epochs = 1000;
    c.warmup_epochs = 10;
    c.runtime.device = "cuda";
  } else {
    throw ConfigError("--preset", "unknown teacher preset '" + name + "' (known: cpu, quick, paper)");
  }
  return c;
}

namespace {

// Probe accuracy by epoch, kept in probe_curve.json so that a resumed run keeps the earlier
// points.
class ProbeCurve {
 public:
  ProbeCurve(std::string path, bool resume) : path_(std::move(path)) {
    if (!resume || !io::file_exists(path_)) return;
    const nlohmann::json saved = io::parse_json_file(path_);
    for (const auto& [epoch, accuracy] : saved.items()) points_[std::stoll(epoch)] = accuracy.get<double>();
  }
  void record(int64_t epoch, double accuracy, bool save) {
    points_[epoch] = accuracy;
    if (!save) return;
    nlohmann::json j;
    for (const auto& [e, a] : points_) j[std::to_string(e)] = a;
    io::write_json_file(path_, j);
  }
  // Each probed epoch at the training seconds spent by its end (metrics.json's probe_curve),
  // and the same as minutes and percent for probe.svg.
  nlohmann::json against_time(const std::vector<double>& epoch_seconds, std::vector<double>& minutes,
                              std::vector<double>& percent) const {
    nlohmann::json curve = nlohmann::json::array();
    for (const auto& [epoch, accuracy] : points_) {
      if (epoch < 1 || epoch > static_cast<int64_t>(epoch_seconds.size())) continue;
      double seconds = 0;
      for (int64_t e = 0; e < epoch; ++e) seconds += epoch_seconds[e];
      curve.push_back({{"epoch", epoch}, {"train_seconds", seconds}, {"probe_test_accuracy", accuracy}});
      minutes.push_back(seconds / 60);
      percent.push_back(100 * accuracy);
    }
    return curve;
  }

 private:
  std::string path_;
  std::map<int64_t, double> points_;
};

// Barlow Twins through train::fit, with the probe of `probe_every` at epoch ends.
// Data-parallel in a job of several ranks (issue 26): every rank draws the whole batch and its
// views from the same generator, as one process does, and computes its share of the rows; the
// batch norms and the loss see the global batch (models/batch_norm.h, teacher_views_loss), and
// train::fit sums the gradients. So N ranks train the model one process trains, up to float
// rounding, and a checkpoint of either resumes on any world size.
train::FitResult train_barlow_twins(BarlowTwins& model, const TeacherConfig& config, const data::DatasetSplits& splits,
                                    const std::string& id, const std::string& out_dir, bool resume,
                                    train::RunContext& run, ProbeCurve& curve) {
  const c10::Device device = run.device;
  train::ProcessGroup* const group = run.group;
  const auto params = model->parameters();
  const double lr = teacher_base_lr(config);
  const auto optimizer = make_teacher_optimizer(params, config);
  data::SslAugmentOptions aug;
  aug.view1.scale_min = aug.view2.scale_min = config.crop_scale_min;
  const data::SslAugment augment(aug, splits.train.channels());
  const at::Tensor images = splits.train.images.to(device);  // uint8: converted a batch at a time

  train::FitOptions fit;
  fit.stage = "teacher";
  fit.epochs = config.epochs;
  fit.batch_size = config.batch_size;
  fit.seed = config.runtime.seed;
  fit.checkpoint_dir = out_dir + "/checkpoints";
  fit.resume = resume;
  fit.config_hash = id;  // a checkpoint of other settings or other data is refused
  fit.group = group;
  train::FitHooks hooks;
  hooks.batch_loss = [&](const at::Tensor& index, at::Generator& gen) {
    auto [v1, v2] = teacher_views(images.index_select(0, index.to(device)), augment, gen);
    if (group) v1 = train::own_rows(*group, v1), v2 = train::own_rows(*group, v2);
    return teacher_views_loss(model, v1, v2, splits.norm, config, group);
  };
  const int64_t steps_per_epoch = splits.train.size() / std::min(config.batch_size, splits.train.size());
  hooks.learning_rate = [&](int64_t step, int64_t total) {
    return train::warmup_cosine(step, total, config.warmup_epochs * steps_per_epoch, lr, 0.002);
  };
  hooks.after_backward = [&] { teacher_after_backward(params, config); };
  // Eval mode for the probe's features, then back: batch-norm statistics are untouched, and
  // the probe draws from its own generator, so the weights do not depend on probing.
  if (config.probe_every > 0 && run.leads())  // the other ranks wait at the epoch's end
    hooks.on_epoch_end = [&](int64_t epoch, double) {
      if ((epoch + 1) % config.probe_every != 0 || epoch + 1 == config.epochs) return;
      const double accuracy =
          teacher::probe_backbone(*model->backbone, splits, config.probe_epochs, config.runtime.seed, device).test_accuracy;
      curve.record(epoch + 1, accuracy, true);
      run.log.say(fmt::format("teacher: epoch {}: probe top-1 {:.2f}%", epoch + 1, 100 * accuracy));
    };
  hooks.save_state = [&] { return train::module_state(*model); };
  hooks.load_state = [&](const io::TensorMap& s) { train::load_module_state(*model, s, out_dir + "/checkpoints"); };
  hooks.log = [&](const std::string& line) { run.log.line(line); };
  return train::fit(splits.train.size(), *optimizer, fit, hooks);
}

// A job of several ranks splits every batch evenly among them.
void check_batch_splits(int64_t batch, int ranks) {
  if (batch % ranks != 0)
    throw ConfigError("teacher --batch-size", "a job of " + std::to_string(ranks) + " ranks splits each batch evenly "
                                              "among them; " + std::to_string(batch) + " images do not divide");
}

// ... and its batch norms normalise over the whole batch.
void share_batch_among_ranks(BarlowTwins& model, const TeacherConfig& config, int64_t images,
                             train::ProcessGroup& group) {
  check_batch_splits(std::min(config.batch_size, images), group.size());
  models::synchronise_batch_norms(
      *model, [&group](const at::Tensor& sums) { return train::sum_across_ranks(group, sums); },
      "teacher --arch " + config.arch);
}

// teacher.pt and teacher.json. The representation is the backbone's output; the projector
// is kept only so the weights are complete.
void save_teacher_folder(BarlowTwins& model, const TeacherConfig& config, const data::DatasetSplits& splits,
                         const std::string& id, const std::string& out_dir) {
  model->eval();
  io::TensorMap weights = train::module_state(*model);
  io::save_tensors(out_dir + "/teacher.pt", weights);
  // The digest ties teacher.pt to this teacher.json. It is of the tensors (names, dtypes,
  // shapes, bytes), not of the file: computed from what is in memory, with no second read of
  // a large file, and unchanged when the same weights are re-saved in another archive layout.
  const std::string weights_digest = io::content_checksum(weights);
  const nlohmann::json meta = {
      {"arch", models::format_arch_spec(models::parse_arch_spec(config.arch))},
      {"shape", {splits.train.channels(), splits.train.height(), splits.train.width()}},
      {"norm_mean", splits.norm.mean},
      {"norm_std", splits.norm.std},
      {"data", config.data},
      {"id", id},
      {"feature_dim", model->backbone->feature_dim()},
      {"projector", config.projector},
      {"weights_digest", weights_digest}};
  io::write_json_file(out_dir + "/teacher.json", meta);
}

// metrics.json, loss.svg and (with probes during training) probe.svg.
void write_training_record(const TeacherConfig& config, const train::FitResult& trained,
                           const measure::ProbeResult& probed, const ProbeCurve& curve, const train::RunContext& run,
                           const std::string& out_dir) {
  std::vector<double> curve_minutes, curve_accuracy;
  const nlohmann::json probe_curve = curve.against_time(trained.epoch_seconds, curve_minutes, curve_accuracy);
  nlohmann::json metrics = {{"epoch_loss", trained.epoch_loss},
                            {"epoch_seconds", trained.epoch_seconds},
                            {"probe_test_accuracy", probed.test_accuracy},
                            {"probe_train_accuracy", probed.train_accuracy},
                            {"feature_dim", probed.feature_dim},
                            {"images_per_second", trained.items_per_second},
                            {"train_seconds", trained.seconds},
                            {"threads", run.threads},
                            {"machine", machine_info()},
                            {"resumed_from_epoch", trained.resumed_from_epoch},
                            {"probe_curve", probe_curve}};
  if (run.group) {  // rank 0's time in collectives (the batch norms', the embeddings', the gradients')
    metrics["ranks"] = run.group->size();
    metrics["collective_seconds"] = run.group->seconds_in_collectives();
  }
  io::write_json_file(out_dir + "/metrics.json", metrics);
  if (curve_minutes.size() > 1) {
    io::svg::LineChart accuracy_plot;
    accuracy_plot.title = "Linear probe during training (" + config.arch + " on " + config.data + ")";
    accuracy_plot.x_label = "training minutes";
    accuracy_plot.y_label = "probe top-1 (%)";
    accuracy_plot.add_series("teacher", curve_minutes, curve_accuracy);
    accuracy_plot.save(out_dir + "/probe.svg");
  }
  io::svg::LineChart plot;
  plot.title = "Barlow Twins loss (" + config.arch + " on " + config.data + ")";
  plot.x_label = "epoch";
  plot.y_label = "loss";
  std::vector<double> epochs;
  for (size_t i = 0; i < trained.epoch_loss.size(); ++i) epochs.push_back(static_cast<double>(i + 1));
  plot.add_series("train loss", epochs, trained.epoch_loss);
  plot.save(out_dir + "/loss.svg");
}

}  // namespace

TeacherResult train_teacher(const TeacherConfig& config, const std::string& out_dir, bool resume) {
  if (config.batch_size < 2) throw ConfigError("teacher --batch-size", "Barlow Twins needs at least 2 images a batch");
  check_batch_splits(config.batch_size, train::job_world().size);  // before anything is written
  const auto run = train::start_run("teacher", out_dir, config.to_json(), config.runtime, train::Ranks::many);
  io::RunLog& log = run->log;
  const c10::Device device = run->device;

  data::LoadOptions load;
  load.data_dir = config.data_dir;
  load.resolution = config.resolution;
  const data::DatasetSplits splits = data::load_dataset(config.data, load);
  const models::ImageShape shape{splits.train.channels(), splits.train.height(), splits.train.width()};
  log.say("teacher: " + config.data + " train " + std::to_string(splits.train.size()) + " x " +
          std::to_string(shape.channels) + "x" + std::to_string(shape.height) + "x" + std::to_string(shape.width));

  BarlowTwins model(models::make_encoder_from_spec(config.arch, shape), config.projector);
  model->to(device);
  model->train();
  if (run->group) share_batch_among_ranks(model, config, splits.train.size(), *run->group);
  const std::string id = teacher_id(config, data::dataset_digest(splits));
  ProbeCurve curve(out_dir + "/probe_curve.json", resume);
  const train::FitResult trained = train_barlow_twins(model, config, splits, id, out_dir, resume, *run, curve);
  TeacherResult result;
  result.images_per_second = trained.items_per_second;
  result.train_seconds = trained.seconds;
  if (!run->leads()) return result;  // every rank holds the same weights; rank 0 probes and writes them
  save_teacher_folder(model, config, splits, id, out_dir);

  log.say("teacher: linear probe on " + config.data + " (" + std::to_string(config.probe_epochs) + " epochs)");
  const auto probed = teacher::probe_backbone(*model->backbone, splits, config.probe_epochs, config.runtime.seed, device);
  curve.record(config.epochs, probed.test_accuracy, false);
  write_training_record(config, trained, probed, curve, *run, out_dir);

  result.probe_test_accuracy = probed.test_accuracy;
  result.probe_train_accuracy = probed.train_accuracy;
  log.say(fmt::format("teacher: probe top-1 {:.2f}% (train {:.2f}%), {:.0f} img/s, {:.0f} s training",
                      100 * probed.test_accuracy, 100 * probed.train_accuracy, trained.items_per_second,
                      trained.seconds));
  return result;
}

namespace {

// teacher.pt must hold the weights teacher.json describes. A folder from before digests were
// recorded loads as it did, with a warning; one with a digest is checked.
void check_weights_digest(const io::TensorMap& weights, Teacher& t, const std::string& weights_path) {
  const std::string found = io::content_checksum(weights);
  if (t.weights_digest.empty()) {
    static std::mutex mutex;
    static std::set<std::string> warned;  // once per folder: a grid loads its teacher often
    if (std::lock_guard<std::mutex> lock(mutex); warned.insert(weights_path).second)
      std::cerr << "ssdd: warning: " << weights_path
                << " is not checked: teacher.json records no weights_digest (written by an older ssdd)\n";
    t.weights_digest = found;  // still keys the representation cache by these weights
    return;
  }
  if (found != t.weights_digest)
    throw DataError(weights_path, "weights with teacher.json's digest " + t.weights_digest,
                    "digest " + found + " (another teacher's weights, or damaged bytes)");
}

}  // namespace

Teacher load_teacher(const std::string& dir, c10::Device device) {
  const std::string meta_path = dir + "/teacher.json";
  const nlohmann::json meta = io::parse_json_file(meta_path);
  Teacher t;
  t.dir = dir;
  try {
    t.arch = meta.at("arch");
    const auto shape = meta.at("shape").get<std::vector<int64_t>>();
    if (shape.size() != 3) throw DataError(meta_path, "shape [C, H, W]", meta.at("shape").dump());
    t.shape = {shape[0], shape[1], shape[2]};
    t.norm.mean = meta.at("norm_mean").get<std::vector<float>>();
    t.norm.std = meta.at("norm_std").get<std::vector<float>>();
    t.data = meta.at("data");
    t.id = meta.at("id");
    t.feature_dim = meta.at("feature_dim");
    t.weights_digest = meta.value("weights_digest", "");
  } catch (const nlohmann::json::exception& e) {
    throw DataError(meta_path, "teacher metadata fields", e.what());
  }
  // A shipped or imported teacher keeps only the backbone (teacher/backbone_teacher.h):
  // its teacher.json names no projector.
  const auto projector = meta.at("projector").get<std::vector<int64_t>>();
  const std::string weights_path = dir + "/teacher.pt";
  const io::TensorMap weights = io::load_tensors(weights_path);
  check_weights_digest(weights, t, weights_path);
  t.encoder = models::make_encoder_from_spec(t.arch, t.shape);
  if (projector.empty()) {
    train::load_module_state(*t.encoder, weights, weights_path, "backbone.");
  } else {
    BarlowTwins model(t.encoder, projector);
    train::load_module_state(*model, weights, weights_path);
  }
  t.encoder->to(device);
  t.encoder->eval();
  if (t.encoder->feature_dim() != t.feature_dim)
    throw DataError(meta_path, "feature_dim " + std::to_string(t.encoder->feature_dim()),
                    std::to_string(t.feature_dim));
  return t;
}

}  // namespace ssdd::teacher
