#include "ssdd/evaluate/grid.h"

#include <ATen/CPUGeneratorImpl.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "ssdd/core/config_json.h"
#include "ssdd/core/config_paths.h"
#include "ssdd/core/error.h"
#include "ssdd/core/hash.h"
#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/core/stop.h"
#include "ssdd/data/identity.h"
#include "ssdd/data/registry.h"
#include "ssdd/data/resolution_option.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/set_file.h"
#include "ssdd/evaluate/alignment.h"
#include "ssdd/evaluate/evaluation_memory.h"
#include "ssdd/evaluate/finetune.h"
#include "ssdd/evaluate/pretrain.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/folder_lock.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/owned_folder.h"
#include "ssdd/io/plot.h"
#include "ssdd/io/run_log.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/models/image_shape.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/representations.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/progress.h"

namespace ssdd::evaluate {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GridConfig, distilled, teacher, archs, targets, seeds,
                                                pretrain_epochs, pretrain_steps, pretrain_batch, pretrain_lr, weight_decay,
                                                probe_epochs, probe_max_train, probes, probe_steps, teacher_row, none_row,
                                                alignment, finetune, finetune_protocol, finetune_epochs, finetune_lr, data_dir, resolution, threads, device,
                                                verbose)

nlohmann::json GridConfig::to_json() const {
  nlohmann::json j = data::without_native_resolution(*this);
  // Options added after grids were run appear only when set away from their defaults, so
  // those grids (and `ssdd run`'s stage hashes) stay current.
  if (pretrain_steps == 0) j.erase("pretrain_steps");
  if (probes == GridConfig{}.probes) j.erase("probes");
  if (probe_steps == 0) j.erase("probe_steps");
  if (finetune_protocol == GridConfig{}.finetune_protocol) j.erase("finetune_protocol");
  return j;
}

GridConfig GridConfig::from_json(const nlohmann::json& j, const std::string& where) {
  return validated(config_from_json<GridConfig>(j, where), where);
}

void GridConfig::validate(const std::string& where) const {
  check_counts(where, {{"seeds", seeds, 1},
                       {"pretrain_epochs", pretrain_epochs, 1},
                       {"pretrain_steps", pretrain_steps, 0},
                       {"pretrain_batch", pretrain_batch, 1},
                       {"probe_epochs", probe_epochs, 1},
                       {"probe_max_train", probe_max_train, 0},
                       {"probe_steps", probe_steps, 0},
                       {"finetune_epochs", finetune_epochs, finetune ? 1 : 0}});
  if (probes.empty()) throw ConfigError(where, "'probes' must name at least one protocol (standardized, krrst)");
  std::set<std::string> seen;
  for (const auto& name : probes) {
    measure::probe_protocol(name);  // ConfigError naming the valid ones
    if (!seen.insert(name).second) throw ConfigError(where, "'probes' names '" + name + "' twice");
  }
  finetune_protocol_options(*this);  // ConfigError naming the valid protocols
  data::check_resolution(where, resolution);
  check_threads(where, threads);
}

FinetuneOptions finetune_protocol_options(const GridConfig& config) {
  FinetuneOptions o = evaluate::finetune_protocol(config.finetune_protocol);
  if (config.finetune_protocol == "ssdd") o.epochs = config.finetune_epochs;
  o.lr = config.finetune_lr;
  o.max_train = config.probe_max_train;
  return o;
}

std::vector<std::string> grid_presets() { return {"cpu", "quick", "paper"}; }

GridConfig grid_preset(const std::string& name) {
  GridConfig c;
  if (name == "cpu") {
    // Fashion-MNIST, ConvNet-3 (64 wide), 3 seeds. Pretraining epochs sized so that the
    // grid of teacher + none + 4 sets (random, kmeans, krrst, ours) x 3 seeds takes about
    // 30 minutes on 2 cores (see grid_presets_help for the measured cell).
    c.pretrain_epochs = 300;
  } else if (name == "quick") {
    // A smoke test: one seed, a narrow ConvNet, a few epochs, 5000 probe images.
    c.archs = {"convnet:16-16-16"};
    c.seeds = 1;
    c.pretrain_epochs = 10;
    c.probe_epochs = 3;
    c.probe_max_train = 5000;
  } else if (name == "paper") {
    // SPEC 8: five architectures, the paper's targets, 1000 pretraining epochs, on a GPU.
    c.archs = {"convnet:128-256-512", "resnet18", "vgg11", "alexnet", "mobilenetv2"};
    c.targets = {"source", "cifar10", "cub200", "stanford-dogs"};
    c.pretrain_epochs = 1000;
    c.device = "cuda";
  } else {
    throw ConfigError("--preset", "unknown evaluate preset '" + name + "' (known: cpu, quick, paper)");
  }
  return c;
}

std::string grid_presets_help() {
  return "Presets:\n"
         "  cpu    convnet:64-64-64, target source (Fashion-MNIST), 3 seeds, 300 pretraining epochs (paper: 1000),\n"
         "         30 probe epochs. Measured on 2 cores: a cell on 100 images takes 24 s of pretraining + 37 s of\n"
         "         feature extraction, probe and alignment; `ours` (4 views x 285 images) 240 s + 37 s. Teacher +\n"
         "         none + random, kmeans, krrst, ours x 3 seeds: about 25 min.\n"
         "  quick  convnet:16-16-16, 1 seed, 10 epochs, 3 probe epochs on 5000 images: a smoke test.\n"
         "  paper  5 architectures, targets source,cifar10,cub200,stanford-dogs, 3 seeds, 1000 epochs, cuda.\n"
         "Weight decay: KRR-ST's 1e-3 at every budget (the paper's per-budget table is not available).";
}

std::pair<double, double> mean_std(const std::vector<double>& v) {
  if (v.empty()) return {NAN, NAN};
  double s = 0;
  for (double x : v) s += x;
  const double mean = s / static_cast<double>(v.size());
  if (v.size() < 2) return {mean, 0.0};
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / static_cast<double>(v.size() - 1))};
}

namespace {

// One row of the table.
struct Row {
  std::string label;  // unique: the table's row name, "#k" added for its k-th further set
  std::string kind;   // teacher | none | set
  std::string path, file_hash, method;
  std::optional<distill::SetFile> set;
  bool align = false;
  // The table row it counts in: sets given under one LABEL are replicates of it (distillation
  // seeds), pooled with the student seeds into one mean ± std.
  std::string group;
  int64_t replicate = 0;
};

struct Target {
  std::string name, dir;
  bool source = false;
  std::string digest;  // of the data set's content (data/identity.h): part of every cell key
};

struct Cell {
  size_t row = 0;
  std::string arch;
  size_t target = 0;
  int64_t seed = 0;
  std::string key;
};

struct TargetData {
  data::ImageSet train, test;  // train possibly subsampled (probe_max_train)
  data::Normalization norm;
};

std::string file_safe(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_';
    out += ok ? c : '_';
  }
  return out.substr(0, 60);
}

// "LABEL=VALUE" when the part before the first '=' looks like a label, not a path.
std::pair<std::string, std::string> split_label(const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0 || s.substr(0, eq).find('/') != std::string::npos) return {"", s};
  return {s.substr(0, eq), s.substr(eq + 1)};
}

std::string percent(double mean, double std) {
  if (!std::isfinite(mean)) return "—";
  char text[48];
  std::snprintf(text, sizeof text, "%.2f ± %.2f", 100 * mean, 100 * std);
  return text;
}

std::string fixed3(double mean, double std) {
  if (!std::isfinite(mean)) return "—";
  char text[48];
  std::snprintf(text, sizeof text, "%.3f ± %.3f", mean, std);
  return text;
}

// h(F(x)) from features F(x) already on the CPU, in chunks on the device.
at::Tensor apply_head(const torch::nn::Linear& head, const at::Tensor& features, c10::Device device) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (int64_t b = 0; b < features.size(0); b += 8192)
    parts.push_back(head.ptr()->forward(features.slice(0, b, std::min(features.size(0), b + 8192)).to(device)).cpu());
  return torch::cat(parts);
}

// Records already in cells.jsonl, by key. A torn last line (a kill mid-write) is skipped.
std::map<std::string, nlohmann::json> read_cells(const std::string& path, io::RunLog& log) {
  std::map<std::string, nlohmann::json> out;
  if (!io::file_exists(path)) return out;
  std::ifstream in(path);
  std::string line;
  int64_t bad = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      if (j.contains("key")) out.emplace(j.at("key").get<std::string>(), std::move(j));
    } catch (const nlohmann::json::exception&) {
      ++bad;
    }
  }
  if (bad > 0) log.say("evaluate: skipped " + std::to_string(bad) + " unreadable line(s) of " + path);
  return out;
}

// Appends one record as one line and flushes, so a kill loses at most the cell in flight.
void append_cell(const std::string& path, const nlohmann::json& record) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw IoError(path, "cannot open for appending");
  const std::string text = record.dump() + "\n";
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  std::fclose(f);
  if (!ok) throw IoError(path, "write failed");
}

// A file torn mid-line by a kill gets its newline back, so the next record starts clean.
void terminate_last_line(const std::string& path) {
  if (!io::file_exists(path)) return;
  const std::string bytes = io::read_file(path);
  if (!bytes.empty() && bytes.back() != '\n') {
    std::FILE* f = std::fopen(path.c_str(), "ab");
    if (!f) throw IoError(path, "cannot open for appending");
    std::fputc('\n', f);
    std::fclose(f);
  }
}

// A record's test accuracy under a probe protocol; records written before "probes" existed
// hold the first (then only) protocol's as probe_test_accuracy.
std::optional<double> probe_accuracy(const nlohmann::json& record, const std::string& protocol, bool first) {
  if (record.contains("probes")) {
    const auto& p = record.at("probes");
    if (p.contains(protocol)) return p.at(protocol).at("test_accuracy").get<double>();
    return std::nullopt;
  }
  if (first) return record.at("probe_test_accuracy").get<double>();
  return std::nullopt;
}

nlohmann::json summarise(const std::vector<nlohmann::json>& records, const std::vector<Row>& rows,
                         const std::vector<std::string>& archs, const std::string& teacher_arch,
                         const std::vector<Target>& targets, const std::vector<std::string>& probes) {
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& row : rows) {
    const std::vector<std::string> row_archs = row.kind == "teacher" ? std::vector<std::string>{teacher_arch} : archs;
    for (const auto& arch : row_archs)
      for (const auto& target : targets) {
        std::vector<double> acc, r2, cka, hprobe, pre, tuned;
        std::map<std::string, std::vector<double>> by_probe;
        for (const auto& r : records) {
          if (r.at("row") != row.label || r.at("arch") != arch || r.at("target") != target.name) continue;
          acc.push_back(r.at("probe_test_accuracy").get<double>());
          for (size_t i = 0; i < probes.size(); ++i)
            if (const auto a = probe_accuracy(r, probes[i], i == 0)) by_probe[probes[i]].push_back(*a);
          if (r.contains("pretrain_seconds")) pre.push_back(r.at("pretrain_seconds").get<double>());
          if (r.contains("finetune")) tuned.push_back(r.at("finetune").at("test_accuracy").get<double>());
          if (r.contains("alignment")) {
            const auto& a = r.at("alignment");
            r2.push_back(a.at("r2").get<double>());
            cka.push_back(a.at("cka").get<double>());
            hprobe.push_back(a.at("probe_test_accuracy").get<double>());
          }
        }
        if (acc.empty()) continue;
        nlohmann::json s = {{"row", row.label}, {"kind", row.kind}, {"arch", arch}, {"target", target.name},
                            {"n", acc.size()}};
        const auto [m, sd] = mean_std(acc);
        s["probe_mean"] = m;
        s["probe_std"] = sd;
        for (const auto& [protocol, values] : by_probe) {
          const auto [pm, ps] = mean_std(values);
          s["probes"][protocol] = {{"mean", pm}, {"std", ps}, {"n", values.size()}};
        }
        if (!r2.empty()) {
          const auto [rm, rs] = mean_std(r2);
          const auto [cm, cs] = mean_std(cka);
          const auto [hm, hs] = mean_std(hprobe);
          s["alignment"] = {{"r2_mean", rm},     {"r2_std", rs},     {"cka_mean", cm}, {"cka_std", cs},
                            {"probe_mean", hm},  {"probe_std", hs}};
        }
        if (!pre.empty()) s["pretrain_seconds_mean"] = mean_std(pre).first;
        if (!tuned.empty()) {
          const auto [fm, fs] = mean_std(tuned);
          s["finetune"] = {{"mean", fm}, {"std", fs}, {"n", tuned.size()}};
        }
        summary.push_back(s);
      }
  }
  return summary;
}

std::string fixed1(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
}

// How the networks were pretrained: the paper's epochs, or equal steps for every set.
std::string pretrain_caption(const nlohmann::json& p) {
  std::ostringstream out;
  const int64_t steps = p.value("pretrain_steps", int64_t{0});
  if (steps > 0)
    out << "pretrain " << steps << " SGD steps on every set's (view, target) pairs, the same for every set "
        << "(equal-compute protocol)";
  else
    out << "pretrain " << p.at("pretrain_epochs").get<int64_t>() << " epochs on every (view, target) pair of a set "
        << "(the paper's protocol: a set of more pairs gets more steps)";
  out << " (SGD lr " << p.at("pretrain_lr").get<double>() << ", momentum 0.9, weight decay "
      << p.at("weight_decay").get<double>() << ", batch " << p.at("pretrain_batch").get<int64_t>()
      << ", MSE, constant lr)";
  return out.str();
}

std::string probe_caption(const std::string& protocol, const nlohmann::json& p) {
  const int64_t steps = p.value("probe_steps", int64_t{0});  // >0: every protocol's length
  const measure::ProbeOptions o = measure::probe_protocol(protocol);
  const std::string length = steps > 0    ? std::to_string(steps) + " SGD steps"
                             : o.steps > 0 ? std::to_string(o.steps) + " SGD steps"
                                           : std::to_string(p.at("probe_epochs").get<int64_t>()) + " epochs";
  const std::string rest = length + " of batch " + std::to_string(o.batch_size) + ", lr 0.2 cosine";
  if (protocol == "krrst") return "KRR-ST's protocol (raw features, " + rest + ")";
  return "standardised features, " + rest;
}

const nlohmann::json* find_summary(const nlohmann::json& summary, const std::string& row, const std::string* arch,
                                   const std::string& target) {
  for (const auto& s : summary)
    if (s.at("row") == row && s.at("target") == target && (!arch || s.at("arch") == *arch)) return &s;
  return nullptr;
}

// Before a target's first cell: its features, a pretraining batch and the largest set fit
// the machine (evaluation_memory.h).
void check_cell_memory(const TargetData& target, const models::ImageShape& shape, const std::vector<Row>& rows,
                       const std::vector<std::string>& archs, const GridConfig& config, int64_t rep_dim,
                       c10::Device device) {
  EvaluationShape cell;
  cell.image = shape;
  cell.train_images = target.train.size();
  cell.test_images = target.test.size();
  for (const auto& row : rows)
    if (row.set) cell.set_images = std::max(cell.set_images, row.set->images * row.set->views);
  cell.pretrain_batch = config.pretrain_batch;
  cell.finetune_batch = config.finetune ? FinetuneOptions{}.batch_size : 0;
  cell.rep_dim = rep_dim;
  measure::check_memory(evaluation_memory(cell, archs), device);
}

}  // namespace

std::string results_markdown(const nlohmann::json& results) {
  const auto& summary = results.at("summary");
  const auto rows = results.at("rows").get<std::vector<std::string>>();
  const auto kinds = results.at("row_kinds").get<std::vector<std::string>>();
  const auto archs = results.at("archs").get<std::vector<std::string>>();
  const auto targets = results.at("targets").get<std::vector<std::string>>();
  const std::string source = results.at("source");
  const auto& p = results.at("protocol");
  std::ostringstream md;
  md << "# Evaluation results\n\n";
  md << "Source data set: " << source << "; teacher " << results.at("teacher").at("arch").get<std::string>() << " ("
     << results.at("teacher").at("feature_dim").get<int64_t>() << "-d, id "
     << results.at("teacher").at("id").get<std::string>() << ").\n";
  md << "Protocol: " << pretrain_caption(p) << ", then a linear probe of the frozen features";
  if (p.at("probe_max_train").get<int64_t>() > 0)
    md << " fitted on " << p.at("probe_max_train").get<int64_t>() << " train images";
  if (p.value("finetune", false))
    md << "; and full fine-tuning of the network with a new linear classifier ("
       << (p.value("finetune_protocol", "ssdd") == "krrst"
               ? "KRR-ST's protocol: " + std::to_string(p.at("finetune_steps").get<int64_t>()) +
                     " SGD steps, random crop (padding 4) and flip"
               : std::to_string(p.at("finetune_epochs").get<int64_t>()) + " epochs, no augmentation")
       << ", SGD lr " << p.at("finetune_lr").get<double>() << " cosine, momentum 0.9, weight decay "
       << p.at("finetune_weight_decay").get<double>() << ", batch " << p.at("finetune_batch").get<int64_t>() << ")";
  int64_t most_sets = 1;
  for (const auto& k : results.value("row_sets", nlohmann::json::array())) most_sets = std::max(most_sets, k.get<int64_t>());
  md << ". Top-1 test accuracy in %, mean ± sample std over " << p.at("seeds").get<int64_t>() << " student seed(s)";
  if (most_sets > 1)
    md << " x each row's distilled sets (up to " << most_sets << " distillation seeds; row_sets in results.json)";
  md << ".\n\n";

  // A methods x targets table for one architecture (the teacher row has its own); `cell`
  // turns a summary entry (null when absent) into the cell's text.
  // Its last column: the image-equivalents each set ships, every float counted (storage.h).
  const nlohmann::json stored = results.value("row_stored", nlohmann::json::array());
  auto method_table = [&](const std::string& title, const std::string& arch,
                          const std::function<std::string(const nlohmann::json*)>& cell) {
    md << "## " << title << ", " << arch << "\n\n| method |";
    for (const auto& t : targets) md << " " << t << " |";
    md << " stored (image-equivalents) |\n|---|";
    for (size_t i = 0; i <= targets.size(); ++i) md << "---|";
    md << "\n";
    for (size_t r = 0; r < rows.size(); ++r) {
      md << "| " << rows[r] << " |";
      for (const auto& t : targets)
        md << " " << cell(find_summary(summary, rows[r], kinds[r] == "teacher" ? nullptr : &arch, t)) << " |";
      const bool known = r < stored.size() && stored[r].is_number();
      md << " " << (known ? fixed1(stored[r].get<double>()) : "—") << " |\n";
    }
    md << "\n";
  };
  // One table per probe protocol; a grid of one protocol keeps the plain title.
  const auto probes = results.value("probes", std::vector<std::string>{"standardized"});
  for (size_t i = 0; i < probes.size() && !archs.empty(); ++i) {
    const std::string title = probes.size() == 1 ? "Linear probe" : "Linear probe, " + probe_caption(probes[i], p);
    method_table(title, archs.front(), [&, i](const nlohmann::json* s) {
      if (!s) return std::string("—");
      if (i == 0) return percent(s->at("probe_mean"), s->at("probe_std"));
      if (!s->contains("probes") || !s->at("probes").contains(probes[i])) return std::string("—");
      const auto& e = s->at("probes").at(probes[i]);
      return percent(e.at("mean"), e.at("std"));
    });
  }
  if (probes.size() == 1) md << "Probe: " << probe_caption(probes.front(), p) << ".\n\n";

  if (archs.size() > 1) {
    md << "## Cross-architecture, linear probe on " << source << "\n\n| method |";
    for (const auto& a : archs) md << " " << a << " |";
    md << "\n|---|";
    for (size_t i = 0; i < archs.size(); ++i) md << "---|";
    md << "\n";
    for (size_t r = 0; r < rows.size(); ++r) {
      if (kinds[r] == "teacher") continue;
      md << "| " << rows[r] << " |";
      for (const auto& a : archs) {
        const auto* s = find_summary(summary, rows[r], &a, source);
        md << " " << (s ? percent(s->at("probe_mean"), s->at("probe_std")) : "—") << " |";
      }
      md << "\n";
    }
    md << "\n";
  }

  bool any_finetune = false;
  for (const auto& s : summary) any_finetune |= s.contains("finetune");
  for (const auto& arch : any_finetune ? archs : std::vector<std::string>{})
    method_table("Full fine-tuning", arch, [](const nlohmann::json* s) {
      return s && s->contains("finetune") ? percent(s->at("finetune").at("mean"), s->at("finetune").at("std")) : "—";
    });

  bool any_alignment = false;
  for (const auto& s : summary) any_alignment |= s.contains("alignment");
  if (any_alignment) {
    md << "## Teacher alignment on held-out " << source << " test images\n\n"
       << "R^2 and linear CKA between the student's predicted representation h(F(x)) and the teacher's g(x); "
          "probe: linear-probe accuracy (%) of h(F(x)).\n\n"
       << "| method | arch | R^2 | CKA | probe of h(F(x)) |\n|---|---|---|---|---|\n";
    for (size_t r = 0; r < rows.size(); ++r)
      for (const auto& a : archs) {
        const auto* s = find_summary(summary, rows[r], &a, source);
        if (!s || !s->contains("alignment")) continue;
        const auto& al = s->at("alignment");
        md << "| " << rows[r] << " | " << a << " | " << fixed3(al.at("r2_mean"), al.at("r2_std")) << " | "
           << fixed3(al.at("cka_mean"), al.at("cka_std")) << " | " << percent(al.at("probe_mean"), al.at("probe_std"))
           << " |\n";
      }
    md << "\n";
  }
  md << "Rows: teacher = the teacher encoder probed (the head-room); none = the architecture with random "
        "weights; the others are networks pretrained on each distilled set.\n";
  return md.str();
}

GridResult run_grid(const GridConfig& config, const std::string& out_dir) {
  const auto started = std::chrono::steady_clock::now();
  if (config.teacher.empty()) throw ConfigError("--teacher", "a teacher folder is required");
  if (config.seeds < 1) throw ConfigError("--seeds", "must be at least 1");
  if (config.archs.empty()) throw ConfigError("--arch", "give at least one architecture");
  if (config.targets.empty()) throw ConfigError("--targets", "give at least one target data set");
  if (config.pretrain_epochs < 1) throw ConfigError("--pretrain-epochs", "must be at least 1");
  if (config.probe_epochs < 1) throw ConfigError("--probe-epochs", "must be at least 1");
  config.validate("evaluate config");
  if (config.distilled.empty() && !config.none_row && !config.teacher_row)
    throw ConfigError("--distilled", "nothing to evaluate");
  io::claim_folder(out_dir, "evaluate");  // never a folder of the user's
  const io::FolderLock lock(out_dir, io::FolderLock::IfHeld::refuse);
  io::make_dirs(out_dir + "/models");
  io::RunLog log(out_dir + "/log");
  const int threads = set_threads(config.threads);
  const c10::Device device = parse_device(config.device);
  // Absolute paths: `ssdd evaluate --config` reads it from any folder.
  io::write_json_file(out_dir + "/config.json", resolve_config_paths(config.to_json(), ""));
  log.say("evaluate: " + config.to_json().dump());
  log.say("evaluate: " + std::to_string(threads) + " thread(s), device " + device.str());

  const teacher::Teacher teacher = teacher::load_teacher(config.teacher, device);
  const std::string teacher_arch = "teacher:" + teacher.arch;

  // Rows: teacher, none, then the distilled sets in the order given.
  std::vector<Row> rows;
  if (config.teacher_row) rows.push_back({"teacher", "teacher", "", "", "teacher", std::nullopt, false, "teacher", 0});
  if (config.none_row) rows.push_back({"none", "none", "", "", "none", std::nullopt, false, "none", 0});
  std::string source;
  models::ImageShape shape = teacher.shape;
  std::set<std::string> labels;
  for (const auto& row : rows) labels.insert(row.label);
  for (const auto& entry : config.distilled) {
    auto [label, path] = split_label(entry);
    Row row;
    row.kind = "set";
    row.path = path;
    row.set = distill::read_set_file(path);
    row.file_hash = hash_hex(io::read_file(path));
    const auto& meta = row.set->meta;
    row.method = meta.value("method", "set");
    row.label = row.group = label.empty() ? row.method : label;
    if (!labels.insert(row.label).second) {
      // An explicit LABEL given again names one more set of that row (another distillation seed).
      const Row* first = nullptr;
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
  if (source.empty()) source = teacher.data;

  std::vector<std::string> archs;
  for (const auto& a : config.archs) {
    const std::string canonical = models::format_arch_spec(models::parse_arch_spec(a));
    if (std::find(archs.begin(), archs.end(), canonical) == archs.end()) archs.push_back(canonical);
  }
  std::vector<Target> targets;
  for (const auto& t : config.targets) {
    auto [name, dir] = split_label(t);
    if (name.empty()) std::swap(name, dir);  // no "=": the whole text is the name
    Target target{name == "source" ? source : name, dir, false, ""};
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

  // Protocol settings that change a cell's numbers, per row kind.
  // Settings added later enter only away from their defaults, so older cells keep their keys.
  nlohmann::json probe_protocol = {{"probe_epochs", config.probe_epochs},
                                   {"probe_max_train", config.probe_max_train}};
  if (config.probes != GridConfig{}.probes) probe_protocol["probes"] = config.probes;
  if (config.probe_steps > 0) probe_protocol["probe_steps"] = config.probe_steps;
  nlohmann::json pretrain_protocol = {{"pretrain_epochs", config.pretrain_epochs},
                                      {"pretrain_batch", config.pretrain_batch},
                                      {"pretrain_lr", config.pretrain_lr},
                                      {"weight_decay", config.weight_decay}};
  if (config.pretrain_steps > 0) pretrain_protocol["pretrain_steps"] = config.pretrain_steps;
  // Present only when asked for, so the cells of linear-only grids keep their keys.
  const FinetuneOptions finetune_options = finetune_protocol_options(config);
  nlohmann::json finetune_protocol = {{"finetune_epochs", config.finetune_epochs},
                                      {"finetune_lr", config.finetune_lr},
                                      {"finetune_weight_decay", finetune_options.weight_decay},
                                      {"finetune_batch", finetune_options.batch_size},
                                      {"finetune_max_train", config.probe_max_train}};
  if (config.finetune_protocol != GridConfig{}.finetune_protocol) {  // older cells keep their keys
    finetune_protocol["finetune_protocol"] = config.finetune_protocol;
    finetune_protocol["finetune_steps"] = finetune_options.steps;
    finetune_protocol["finetune_augment"] = finetune_options.augment;
  }
  auto cell_key = [&](const Row& row, const std::string& arch, const Target& target, int64_t seed) {
    nlohmann::json k = {{"row", row.label}, {"kind", row.kind}, {"arch", arch}, {"target", target.name},
                        {"target_data", target.digest}, {"seed", seed}, {"probe", probe_protocol}};
    if (config.finetune) k["finetune"] = finetune_protocol;
    if (row.kind == "teacher") k["teacher"] = teacher.id;
    if (row.kind == "set") {
      k["file"] = row.file_hash;
      k["pretrain"] = pretrain_protocol;
      k["align"] = row.align ? teacher.id : "";
    }
    return hash_hex(k.dump());
  };

  // The plan, in the order it runs (and the tables read).
  std::vector<Cell> plan;
  for (size_t r = 0; r < rows.size(); ++r) {
    const auto row_archs = rows[r].kind == "teacher" ? std::vector<std::string>{teacher_arch} : archs;
    for (const auto& arch : row_archs)
      for (int64_t seed = 0; seed < config.seeds; ++seed)
        for (size_t t = 0; t < targets.size(); ++t)
          plan.push_back({r, arch, t, seed, cell_key(rows[r], arch, targets[t], seed)});
  }
  const std::string cells_path = out_dir + "/cells.jsonl";
  terminate_last_line(cells_path);
  std::map<std::string, nlohmann::json> done = read_cells(cells_path, log);
  int64_t finished = 0;
  for (const auto& c : plan) finished += done.count(c.key);
  GridResult result;
  result.cells_skipped = finished;
  log.say("evaluate: " + std::to_string(rows.size()) + " rows x " + std::to_string(archs.size()) + " arch(s) x " +
          std::to_string(targets.size()) + " target(s) x " + std::to_string(config.seeds) + " seed(s): " +
          std::to_string(plan.size()) + " cells, " + std::to_string(finished) + " already done");

  // Target data, loaded at the source's image shape on first use.
  std::map<size_t, TargetData> target_data;
  auto target_of = [&](size_t t) -> const TargetData& {
    auto it = target_data.find(t);
    if (it != target_data.end()) return it->second;
    data::LoadOptions load;
    load.data_dir = targets[t].dir;
    if (!targets[t].source) {
      if (shape.height != shape.width) throw ConfigError("--targets", "non-square source images cannot be matched");
      load.resolution = static_cast<int>(shape.height);
      load.channels = static_cast<int>(shape.channels);
    } else {
      load.resolution = config.resolution;
    }
    data::DatasetSplits splits = data::load_dataset_for(targets[t].name, load, shape.channels, shape.height, shape.width);
    models::check_image_shape("--targets", "target " + targets[t].name + " holds",
                              models::shape_of_images(splits.train.images), "the sets and the teacher take", shape);
    if (!splits.train.has_labels() || !splits.test.has_labels())
      throw DataError(targets[t].name, "labelled train and test splits for the linear probe", "no labels");
    TargetData d{splits.train, splits.test, splits.norm};
    if (config.probe_max_train > 0 && config.probe_max_train < d.train.size()) {
      // A fixed subset (seed 0), the same for every row, so rows stay comparable.
      auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
      const auto idx = std::get<0>(torch::randperm(d.train.size(), gen, torch::kLong)
                                       .slice(0, 0, config.probe_max_train)
                                       .sort());
      d.train.images = d.train.images.index_select(0, idx).contiguous();
      d.train.labels = d.train.labels.index_select(0, idx).contiguous();
    }
    check_cell_memory(d, shape, rows, archs, config, teacher.feature_dim, device);
    log.say("evaluate: target " + targets[t].name + ": " + std::to_string(d.train.size()) + " train, " +
            std::to_string(d.test.size()) + " test images, " + std::to_string(d.train.num_classes) + " classes");
    return target_data.emplace(t, std::move(d)).first->second;
  };
  at::Tensor teacher_test_reps;  // g(x) of the source test split, for the alignment
  auto teacher_test = [&](size_t t) {
    if (!teacher_test_reps.defined())
      teacher_test_reps =
          teacher::representations(teacher, source, "test", target_of(t).test.images, data::View{}, device);
    return teacher_test_reps;
  };
  auto probe_options = [&](const std::string& protocol, int64_t seed) {
    measure::ProbeOptions p = measure::probe_protocol(protocol);
    if (protocol == "standardized") p.epochs = config.probe_epochs;
    if (config.probe_steps > 0) p.steps = config.probe_steps;
    p.seed = static_cast<uint64_t>(seed);
    p.device = device;
    return p;
  };
  // Every probe protocol on the same features: the first is the cell's headline number.
  auto probe_all = [&](const at::Tensor& train_f, const at::Tensor& test_f, const TargetData& td, int64_t seed) {
    nlohmann::json record, each = nlohmann::json::object();
    for (const auto& protocol : config.probes) {
      const auto p = measure::linear_probe(train_f, td.train.labels, test_f, td.test.labels, td.train.num_classes,
                                           probe_options(protocol, seed));
      if (record.empty())
        record = {{"probe_test_accuracy", p.test_accuracy},
                  {"probe_train_accuracy", p.train_accuracy},
                  {"feature_dim", p.feature_dim}};
      each[protocol] = {{"test_accuracy", p.test_accuracy}, {"train_accuracy", p.train_accuracy}};
    }
    record["probes"] = each;
    return record;
  };
  auto features = [&](const measure::FeatureFn& fn, const at::Tensor& images, const data::Normalization& norm) {
    return measure::extract_features(fn, images, norm, 512, device);
  };

  train::Progress progress("evaluate", static_cast<int64_t>(plan.size()), "cells/min", finished);
  progress.set_log([&](const std::string& line) { log.line(line); });
  progress.set_file_interval(0);  // cells are minutes apart: log every one
  std::vector<nlohmann::json> new_records;
  auto record_cell = [&](const Cell& cell, nlohmann::json record) {
    const Row& row = rows[cell.row];
    record["key"] = cell.key;
    record["row"] = row.group;
    if (row.kind == "set") record["replicate"] = row.replicate;
    record["kind"] = row.kind;
    record["method"] = row.method;
    if (!row.path.empty()) record["file"] = row.path;
    record["arch"] = cell.arch;
    record["target"] = targets[cell.target].name;
    record["seed"] = cell.seed;
    append_cell(cells_path, record);
    done.emplace(cell.key, record);
    ++finished;
    ++result.cells_run;
    char fields[200];
    std::snprintf(fields, sizeof fields, "%s %s %s seed %lld: %.2f%%", row.label.c_str(), cell.arch.c_str(),
                  targets[cell.target].name.c_str(), static_cast<long long>(cell.seed),
                  100 * record.at("probe_test_accuracy").get<double>());
    progress.update(finished, std::string(fields), 60.0);  // 60 per cell: the rate reads in cells/min
  };
  // Fine-tunes `encoder` (a copy, given up by the caller) on a target: a cell's
  // "finetune" record.
  auto finetune_record = [&](models::Encoder encoder, const TargetData& td, int64_t seed) {
    FinetuneOptions o = finetune_options;
    o.seed = static_cast<uint64_t>(seed);
    o.device = device;
    torch::AutoGradMode grad(true);
    const FinetuneResult f = finetune(std::move(encoder), td.train, td.test, td.norm, o);
    return nlohmann::json{{"test_accuracy", f.test_accuracy},
                          {"train_accuracy", f.train_accuracy},
                          {"final_loss", f.final_loss},
                          {"seconds", f.seconds}};
  };
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };

  // Cells are grouped so that what they share is computed once: teacher features per
  // target, a pretrained network per set x arch x seed.
  for (size_t i = 0; i < plan.size();) {
    size_t j = i;
    while (j < plan.size() && plan[j].row == plan[i].row && plan[j].arch == plan[i].arch &&
           (rows[plan[i].row].kind == "teacher" || plan[j].seed == plan[i].seed))
      ++j;
    std::vector<const Cell*> pending;
    for (size_t k = i; k < j; ++k)
      if (!done.count(plan[k].key)) pending.push_back(&plan[k]);
    const Row& row = rows[plan[i].row];
    const std::string arch = plan[i].arch;
    const int64_t group_seed = plan[i].seed;
    i = j;
    if (pending.empty()) continue;
    // A SIGINT/SIGTERM (core/stop.h) ends the grid between cells: cells.jsonl keeps the finished ones.
    throw_if_stopped("evaluate", finished);

    if (row.kind == "teacher") {
      std::map<size_t, std::pair<at::Tensor, at::Tensor>> feats;  // per target, shared by the seeds
      auto fn = [&](const at::Tensor& x) { return teacher.encoder->features(x); };
      for (const Cell* cell : pending) {
        throw_if_stopped("evaluate", finished);
        const auto t0 = std::chrono::steady_clock::now();
        const TargetData& td = target_of(cell->target);
        auto it = feats.find(cell->target);
        if (it == feats.end())
          it = feats.emplace(cell->target, std::make_pair(features(fn, td.train.images, td.norm),
                                                          features(fn, td.test.images, td.norm)))
                   .first;
        nlohmann::json record = probe_all(it->second.first, it->second.second, td, cell->seed);
        if (config.finetune)
          record["finetune"] = finetune_record(teacher::load_teacher(config.teacher, device).encoder, td, cell->seed);
        record["seconds"] = since(t0);
        record_cell(*cell, record);
      }
      continue;
    }

    // A network for this arch and seed: random ("none") or pretrained on the set.
    Pretrained net;
    nlohmann::json pretrain_info;
    std::function<models::Encoder()> fresh_copy;  // of `net`'s encoder, for fine-tuning
    if (row.kind == "none") {
      net = fresh_network(arch, shape, teacher.feature_dim, static_cast<uint64_t>(group_seed), device);
      fresh_copy = [&] {
        return fresh_network(arch, shape, teacher.feature_dim, static_cast<uint64_t>(group_seed), device).encoder;
      };
    } else {
      const std::string stem = out_dir + "/models/" + file_safe(row.label) + "-" + file_safe(arch) + "-s" +
                               std::to_string(group_seed) + "-" +
                               hash_hex(nlohmann::json{{"file", row.file_hash},
                                                       {"arch", arch},
                                                       {"seed", group_seed},
                                                       {"pretrain", pretrain_protocol}}
                                            .dump())
                                   .substr(0, 8);
      const distill::SetFile& set = *row.set;
      torch::NoGradGuard no_grad;
      const int64_t pairs = set.pairs.images.size(0);
      const int64_t d = set.target_dim();
      bool reused = false;
      if (io::file_exists(stem + ".pt")) {
        // The grid's own cache of pretrained weights: a damaged file is made again, not trusted.
        try {
          net = load_pretrained(stem + ".pt", arch, shape, d, device);
          reused = true;
          log.line("evaluate: reusing " + stem + ".pt");
        } catch (const DataError& e) {
          log.say(std::string("evaluate: ") + e.what() + "; pretraining it again");
        }
      }
      if (!reused) {
        PretrainOptions o;
        o.arch = arch;
        o.epochs = config.pretrain_epochs;
        o.steps = config.pretrain_steps;
        o.batch_size = config.pretrain_batch;
        o.lr = config.pretrain_lr;
        o.weight_decay = config.weight_decay;
        o.seed = static_cast<uint64_t>(group_seed);
        o.quiet = !config.verbose;
        o.checkpoint_dir = stem + ".ckpt";
        o.device = device;
        o.log = [&](const std::string& line) { log.line(line); };
        torch::AutoGradMode grad(true);
        net = pretrain_on_set(set, o);
        save_pretrained(stem + ".pt", net);
        std::error_code ec;
        std::filesystem::remove_all(stem + ".ckpt", ec);
        char text[200];
        std::snprintf(text, sizeof text,
                      "evaluate: pretrained %s on %s (%lld pairs, %lld steps), seed %lld: loss %.4f -> %.4f, %.0f s",
                      arch.c_str(), row.label.c_str(), static_cast<long long>(pairs), static_cast<long long>(net.steps),
                      static_cast<long long>(group_seed), net.loss.front(), net.loss.back(), net.seconds);
        log.say(text);
      }
      fresh_copy = [&, stem, d] { return load_pretrained(stem + ".pt", arch, shape, d, device).encoder; };
      pretrain_info = {{"pretrain_seconds", net.seconds},
                       {"pretrain_pairs", pairs},
                       {"pretrain_first_loss", net.loss.empty() ? NAN : net.loss.front()},
                       {"pretrain_final_loss", net.loss.empty() ? NAN : net.loss.back()}};
      if (net.steps > 0) pretrain_info["pretrain_steps"] = net.steps;  // weights saved before steps were kept: absent
    }
    auto fn = [&](const at::Tensor& x) { return net.encoder->features(x); };
    for (const Cell* cell : pending) {
      throw_if_stopped("evaluate", finished);
      const auto t0 = std::chrono::steady_clock::now();
      const TargetData& td = target_of(cell->target);
      const auto train_f = features(fn, td.train.images, td.norm);
      const auto test_f = features(fn, td.test.images, td.norm);
      nlohmann::json record = probe_all(train_f, test_f, td, cell->seed);
      for (const auto& item : pretrain_info.items()) record[item.key()] = item.value();
      if (row.align && targets[cell->target].source) {
        const auto a = teacher_alignment(apply_head(net.head, train_f, device), td.train.labels,
                                         apply_head(net.head, test_f, device), td.test.labels,
                                         teacher_test(cell->target), td.train.num_classes,
                                         probe_options(config.probes.front(), cell->seed));
        record["alignment"] = {{"r2", a.r2},
                               {"cka", a.cka},
                               {"probe_test_accuracy", a.probe_test_accuracy},
                               {"probe_train_accuracy", a.probe_train_accuracy},
                               {"n", a.n}};
      }
      if (config.finetune) record["finetune"] = finetune_record(fresh_copy(), td, cell->seed);
      record["seconds"] = since(t0);
      record_cell(*cell, record);
    }
  }
  progress.finish(std::to_string(result.cells_run) + " cells run, " + std::to_string(result.cells_skipped) +
                  " reused");

  // Every planned cell's record, in plan order.
  std::vector<nlohmann::json> records;
  for (const auto& c : plan) records.push_back(done.at(c.key));
  // The table's rows: one per group, its replicates pooled.
  std::vector<Row> table;
  std::vector<std::string> row_labels, row_kinds, target_names;
  nlohmann::json row_stored = nlohmann::json::array();  // image-equivalents each set ships; null: no set
  nlohmann::json row_sets = nlohmann::json::array();    // sets (distillation seeds) pooled per row
  for (const auto& r : rows) {
    if (r.replicate > 0) {
      row_sets[std::find(row_labels.begin(), row_labels.end(), r.group) - row_labels.begin()] = r.replicate + 1;
      continue;
    }
    table.push_back({r.group, r.kind, "", "", r.method, std::nullopt, false, r.group, 0});
    row_labels.push_back(r.group);
    row_kinds.push_back(r.kind);
    row_stored.push_back(r.set ? nlohmann::json(r.set->stored_image_equivalents) : nlohmann::json());
    row_sets.push_back(r.set ? 1 : 0);
  }
  for (const auto& t : targets) target_names.push_back(t.name);
  nlohmann::json protocol = pretrain_protocol;
  for (const auto& item : probe_protocol.items()) protocol[item.key()] = item.value();
  protocol["seeds"] = config.seeds;
  protocol["finetune"] = config.finetune;
  if (config.finetune)
    for (const auto& item : finetune_protocol.items()) protocol[item.key()] = item.value();
  nlohmann::json& res = result.results;
  res = {{"source", source},
         {"teacher", {{"dir", config.teacher}, {"arch", teacher.arch}, {"id", teacher.id}, {"feature_dim", teacher.feature_dim}}},
         {"rows", row_labels},
         {"row_kinds", row_kinds},
         {"archs", archs},
         {"teacher_arch", teacher_arch},
         {"targets", target_names},
         {"protocol", protocol},
         {"config", config.to_json()},
         {"records", records},
         {"row_stored", row_stored},
         {"row_sets", row_sets},
         {"probes", config.probes},
         {"summary", summarise(records, table, archs, teacher_arch, targets, config.probes)}};
  io::write_json_file(out_dir + "/results.json", res);
  const std::string md = results_markdown(res);
  io::write_file_atomic(out_dir + "/results.md", md);

  io::BarChart chart;
  chart.title = "linear probe after pretraining, " + archs.front();
  chart.y_label = "top-1 test accuracy (%)";
  chart.groups = target_names;
  chart.y_from_zero = false;
  chart.value_labels = true;
  for (const auto& row : table) {
    std::vector<double> mean, std;
    for (const auto& t : targets) {
      const auto* s = find_summary(res.at("summary"), row.label, row.kind == "teacher" ? nullptr : &archs.front(), t.name);
      mean.push_back(s ? 100 * s->at("probe_mean").get<double>() : NAN);
      std.push_back(s ? 100 * s->at("probe_std").get<double>() : NAN);
    }
    chart.add_series(row.label, mean, std);
  }
  chart.save(out_dir + "/results.png");
  result.seconds = since(started);
  log.say("evaluate: wrote " + out_dir + "/results.json, results.md, results.png (" +
          train::format_duration(result.seconds) + ")");
  return result;
}

}  // namespace ssdd::evaluate
