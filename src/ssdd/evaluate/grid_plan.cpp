#include "ssdd/evaluate/grid_plan.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <set>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/hash.h"
#include "ssdd/data/identity.h"
#include "ssdd/data/registry.h"
#include "ssdd/evaluate/evaluation_memory.h"
#include "ssdd/evaluate/finetune.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/run_log.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/teacher.h"

namespace ssdd::evaluate {

namespace {

// "LABEL=VALUE" when the part before the first '=' looks like a label, not a path.
std::pair<std::string, std::string> split_label(const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || s.substr(0, eq).find('/') != std::string::npos) return {"", s};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

// A distilled set's row, from PATH or LABEL=PATH, its label unique among `labels`.
GridRow set_row(const std::string& entry, const std::vector<GridRow>& rows, std::set<std::string>& labels) {
  auto [label, path] = split_label(entry);
  GridRow row;
  row.kind = "set";
  row.path = path;
  row.set = distill::read_set_file(path);
  row.file_hash = hash_hex(io::read_file(path));
  row.method = row.set->meta.value("method", "set");
  row.label = row.group = label.empty() ? row.method : label;
  if (!labels.insert(row.label).second) {
    // An explicit LABEL given again names one more set of that row (another distillation seed).
    const GridRow* first = nullptr;
    for (const auto& r : rows)
      if (r.kind == "set" && r.group == row.group && r.replicate == 0) first = &r;
    if (label.empty() || !first)
      throw ConfigError("--distilled", "two rows are labelled '" + row.label + "'; name them as LABEL=PATH");
    if (first->method != row.method)
      throw ConfigError("--distilled", "the sets labelled '" + row.group + "' are of different methods (" +
                                           first->method + ", " + row.method + ")");
    for (const auto& r : rows) row.replicate += r.group == row.group ? 1 : 0;
    row.label = row.group + "#" + std::to_string(row.replicate);
    labels.insert(row.label);
  }
  return row;
}

// Rows: teacher, none, then the distilled sets in the order given, which also set the
// plan's source data set and image shape.
void add_rows(const GridConfig& config, const teacher::Teacher& teacher, io::RunLog& log, GridPlan& plan) {
  std::vector<GridRow>& rows = plan.rows;
  if (config.teacher_row) rows.push_back({"teacher", "teacher", "", "", "teacher", std::nullopt, false, "teacher", 0});
  if (config.none_row) rows.push_back({"none", "none", "", "", "none", std::nullopt, false, "none", 0});
  std::string& source = plan.source;
  models::ImageShape& shape = plan.shape;
  std::set<std::string> labels;
  for (const auto& row : rows) labels.insert(row.label);
  for (const auto& entry : config.distilled) {
    GridRow row = set_row(entry, rows, labels);
    const std::string& path = row.path;
    const auto& meta = row.set->meta;
    const std::string data = meta.value("data", "");
    if (data.empty()) throw DataError(path, "metadata naming the source data set", "no \"data\"");
    if (!source.empty() && data != source)
      throw ConfigError("--distilled", "sets of different source data sets (" + source + ", " + data +
                                           ") cannot share one table");
    source = data;
    if (meta.contains("shape")) {
      const auto s = meta.at("shape").get<std::vector<int64_t>>();
      shape = {s.at(0), s.at(1), s.at(2)};
    }
    models::check_image_shape("--distilled", path + " holds", shape, "the teacher in " + config.teacher + " takes",
                              teacher.shape);
    if (meta.value("teacher_id", "") != teacher.id)
      log.say("evaluate: warning: " + path + " was made with teacher " + meta.value("teacher_id", "?") +
              ", the alignment compares it with " + teacher.id);
    torch::NoGradGuard no_grad;
    const int64_t d = row.set->target_dim();
    row.align = config.alignment && d == teacher.feature_dim;
    if (config.alignment && !row.align)
      log.say("evaluate: warning: " + row.label + " has " + std::to_string(d) + "-d targets, the teacher " +
              std::to_string(teacher.feature_dim) + "-d: no alignment diagnostics for it");
    rows.push_back(std::move(row));
  }
}

std::vector<std::string> canonical_archs(const std::vector<std::string>& specs) {
  std::vector<std::string> archs;
  for (const auto& a : specs) {
    const std::string canonical = models::format_arch_spec(models::parse_arch_spec(a));
    if (std::find(archs.begin(), archs.end(), canonical) == archs.end()) archs.push_back(canonical);
  }
  return archs;
}

std::vector<GridTarget> read_targets(const GridConfig& config, const std::string& source) {
  std::vector<GridTarget> targets;
  for (const auto& t : config.targets) {
    auto [name, dir] = split_label(t);
    if (name.empty()) std::swap(name, dir);  // no "=": the whole text is the name
    GridTarget target{name == "source" ? source : name, dir, false, ""};
    target.source = target.name == source;
    if (target.source && target.dir.empty()) target.dir = config.data_dir;
    bool seen = false;
    for (const auto& x : targets) seen |= x.name == target.name;
    if (seen) continue;
    data::LoadOptions load;
    load.data_dir = target.dir;
    if (target.source) load.resolution = config.resolution;  // other targets: by their own content
    target.digest = data::dataset_digest(target.name, load);
    targets.push_back(target);
  }
  return targets;
}

// Settings added later enter only away from their defaults, so older cells keep their keys.
GridProtocols grid_protocols(const GridConfig& config) {
  GridProtocols p;
  p.probe = {{"probe_epochs", config.probe.epochs}, {"probe_max_train", config.probe.max_train}};
  if (config.probe.protocols != GridProbeOptions{}.protocols) p.probe["probes"] = config.probe.protocols;
  if (config.probe.steps > 0) p.probe["probe_steps"] = config.probe.steps;
  p.pretrain = {{"pretrain_epochs", config.pretrain.epochs},
                {"pretrain_batch", config.pretrain.batch_size},
                {"pretrain_lr", config.pretrain.lr},
                {"weight_decay", config.pretrain.weight_decay}};
  if (config.pretrain.steps > 0) p.pretrain["pretrain_steps"] = config.pretrain.steps;
  if (config.pretrain.precision != train::Precision::float32)
    p.pretrain["pretrain_precision"] = config.pretrain.precision;
  // Present only when asked for, so the cells of linear-only grids keep their keys.
  const FinetuneOptions finetune_options = finetune_protocol_options(config);
  p.finetune = {{"finetune_epochs", config.finetune.epochs},
                {"finetune_lr", config.finetune.lr},
                {"finetune_weight_decay", finetune_options.weight_decay},
                {"finetune_batch", finetune_options.batch_size},
                {"finetune_max_train", config.probe.max_train}};
  if (config.finetune.protocol != GridFinetuneOptions{}.protocol) {  // older cells keep their keys
    p.finetune["finetune_protocol"] = config.finetune.protocol;
    p.finetune["finetune_steps"] = finetune_options.steps;
    p.finetune["finetune_augment"] = finetune_options.augment;
  }
  return p;
}

// What cells.jsonl matches a finished cell by: the set file's content, arch, target data,
// seed and the protocol settings the row kind uses.
std::string cell_key(const GridConfig& config, const teacher::Teacher& teacher, const GridProtocols& protocols,
                     const GridRow& row, const std::string& arch, const GridTarget& target, int64_t seed) {
  nlohmann::json k = {{"row", row.label}, {"kind", row.kind}, {"arch", arch}, {"target", target.name},
                      {"target_data", target.digest}, {"seed", seed}, {"probe", protocols.probe}};
  if (config.finetune.enabled) k["finetune"] = protocols.finetune;
  if (row.kind == "teacher") k["teacher"] = teacher.id;
  if (row.kind == "set") {
    k["file"] = row.file_hash;
    k["pretrain"] = protocols.pretrain;
    k["align"] = row.align ? teacher.id : "";
  }
  return hash_hex(k.dump());
}

}  // namespace

GridPlan plan_grid(const GridConfig& config, const teacher::Teacher& teacher, io::RunLog& log) {
  GridPlan plan;
  plan.teacher_arch = "teacher:" + teacher.arch;
  plan.shape = teacher.shape;
  add_rows(config, teacher, log, plan);
  if (plan.source.empty()) plan.source = teacher.data;
  plan.archs = canonical_archs(config.archs);
  plan.targets = read_targets(config, plan.source);
  plan.protocols = grid_protocols(config);
  const auto first_seed = static_cast<int64_t>(config.runtime.seed);
  for (size_t r = 0; r < plan.rows.size(); ++r) {
    const GridRow& row = plan.rows[r];
    const auto row_archs = row.kind == "teacher" ? std::vector<std::string>{plan.teacher_arch} : plan.archs;
    for (const auto& arch : row_archs)
      for (int64_t seed = first_seed; seed < first_seed + config.seeds; ++seed)
        for (size_t t = 0; t < plan.targets.size(); ++t)
          plan.cells.push_back(
              {r, arch, t, seed, cell_key(config, teacher, plan.protocols, row, arch, plan.targets[t], seed)});
  }
  return plan;
}

TargetData load_target(const GridPlan& plan, size_t t, const GridConfig& config) {
  const GridTarget& target = plan.targets[t];
  const models::ImageShape& shape = plan.shape;
  data::LoadOptions load;
  load.data_dir = target.dir;
  if (!target.source) {
    if (shape.height != shape.width) throw ConfigError("--targets", "non-square source images cannot be matched");
    load.resolution = static_cast<int>(shape.height);
    load.channels = static_cast<int>(shape.channels);
  } else {
    load.resolution = config.resolution;
  }
  data::DatasetSplits splits = data::load_dataset_for(target.name, load, shape.channels, shape.height, shape.width);
  models::check_image_shape("--targets", "target " + target.name + " holds",
                            models::shape_of_images(splits.train.images), "the sets and the teacher take", shape);
  if (!splits.train.has_labels() || !splits.test.has_labels())
    throw DataError(target.name, "labelled train and test splits for the linear probe", "no labels");
  TargetData d{splits.train, splits.test, splits.norm};
  if (config.probe.max_train > 0 && config.probe.max_train < d.train.size()) {
    // A fixed subset (seed 0), the same for every row, so rows stay comparable.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
    const auto idx = std::get<0>(torch::randperm(d.train.size(), gen, torch::kLong)
                                     .slice(0, 0, config.probe.max_train)
                                     .sort());
    d.train.images = d.train.images.index_select(0, idx).contiguous();
    d.train.labels = d.train.labels.index_select(0, idx).contiguous();
  }
  return d;
}

void check_cell_memory(const TargetData& target, const GridPlan& plan, const GridConfig& config, int64_t rep_dim,
                       c10::Device device) {
  EvaluationShape cell;
  cell.image = plan.shape;
  cell.train_images = target.train.size();
  cell.test_images = target.test.size();
  for (const auto& row : plan.rows)
    if (row.set) cell.set_images = std::max(cell.set_images, row.set->images * row.set->views);
  cell.pretrain_batch = config.pretrain.batch_size;
  cell.finetune_batch = config.finetune.enabled ? FinetuneOptions{}.batch_size : 0;
  cell.rep_dim = rep_dim;
  measure::check_memory(evaluation_memory(cell, plan.archs), device);
}

}  // namespace ssdd::evaluate
