#include "ssdd/evaluate/grid_cells.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/fault.h"
#include "ssdd/core/format.h"
#include "ssdd/core/hash.h"
#include "ssdd/core/stop.h"
#include "ssdd/data/views.h"
#include "ssdd/evaluate/alignment.h"
#include "ssdd/evaluate/finetune.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/evaluate/grid_plan.h"
#include "ssdd/evaluate/pretrain.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/run_log.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/teacher/representations.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/progress.h"

namespace ssdd::evaluate {

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

void append_cell(const std::string& path, const nlohmann::json& record) {
  std::FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw IoError(path, "cannot open for appending");
  const std::string text = record.dump() + "\n";
  const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0;
  std::fclose(f);
  if (!ok) throw IoError(path, "write failed");
}

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

std::string rank_cells_path(const std::string& out_dir, int rank) {
  return out_dir + (rank == 0 ? "/cells.jsonl" : "/cells.rank-" + std::to_string(rank) + ".jsonl");
}

void fold_rank_cells(const std::string& out_dir, io::RunLog& log) {
  const std::string cells = rank_cells_path(out_dir, 0);
  std::vector<std::filesystem::path> parts;
  for (const auto& entry : std::filesystem::directory_iterator(out_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("cells.rank-", 0) == 0 && entry.path().extension() == ".jsonl") parts.push_back(entry.path());
  }
  if (parts.empty()) return;
  std::sort(parts.begin(), parts.end());
  auto done = read_cells(cells, log);
  int64_t added = 0;
  for (const auto& part : parts) {
    for (auto& [key, record] : read_cells(part.string(), log))
      if (done.emplace(key, record).second) {
        append_cell(cells, record);
        ++added;
      }
    std::filesystem::remove(part);  // only once its records are in cells.jsonl
  }
  log.line("evaluate: folded " + std::to_string(added) + " cell(s) of " + std::to_string(parts.size()) +
           " rank file(s) into " + cells);
}

namespace {

std::string file_safe(const std::string& s) {
  std::string out;
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_';
    out += ok ? c : '_';
  }
  return out.substr(0, 60);
}

// h(F(x)) from features F(x) already on the CPU, in chunks on the device.
at::Tensor apply_head(const torch::nn::Linear& head, const at::Tensor& features, c10::Device device) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (int64_t b = 0; b < features.size(0); b += 8192)
    parts.push_back(head.ptr()->forward(features.slice(0, b, std::min(features.size(0), b + 8192)).to(device)).cpu());
  return torch::cat(parts);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// A network for one arch and seed: random ("none") or pretrained on the set.
struct Network {
  Pretrained net;
  nlohmann::json pretrain_info;                 // what a set's cells record of its pretraining
  std::function<models::Encoder()> fresh_copy;  // of `net`'s encoder, for fine-tuning
};

class CellRunner {
 public:
  CellRunner(const GridRun& grid, std::map<std::string, nlohmann::json>& done, int64_t skipped);
  // Every cell not done; the number run.
  int64_t run();

 private:
  void run_teacher_cells(const std::vector<const GridCell*>& pending);
  void run_network_cells(const GridRow& row, Network& network, const std::vector<const GridCell*>& pending);
  Network network(const GridRow& row, const std::string& arch, int64_t seed);
  Pretrained pretrain_network(const GridRow& row, const std::string& arch, int64_t seed, const std::string& stem);
  const TargetData& target(size_t t);
  at::Tensor teacher_test(size_t t);
  measure::ProbeOptions probe_options(const std::string& protocol, int64_t seed) const;
  nlohmann::json probe_all(const at::Tensor& train_f, const at::Tensor& test_f, const TargetData& td,
                           int64_t seed) const;
  at::Tensor features(const measure::FeatureFn& fn, const at::Tensor& images, const data::Normalization& norm) const;
  nlohmann::json finetune_record(models::Encoder encoder, const TargetData& td, int64_t seed) const;
  void record_cell(const GridCell& cell, nlohmann::json record);

  const GridRun& grid_;
  const GridConfig& config_;
  const GridPlan& plan_;
  const teacher::Teacher& teacher_;
  const c10::Device device_;
  io::RunLog& log_;
  const std::string cells_path_;
  const FinetuneOptions finetune_options_;
  std::map<std::string, nlohmann::json>& done_;
  const int64_t skipped_;
  int64_t finished_;  // cells done by every rank, with the skipped ones
  int64_t cells_run_ = 0;
  train::ProcessGroup* group_;
  std::string work_key_, finished_key_;  // the job's store counters: groups handed out, cells done
  std::map<size_t, TargetData> target_data_;  // loaded on first use
  at::Tensor teacher_test_reps_;              // g(x) of the source test split, for the alignment
  train::Progress progress_;
};

CellRunner::CellRunner(const GridRun& grid, std::map<std::string, nlohmann::json>& done, int64_t skipped)
    : grid_(grid),
      config_(grid.config),
      plan_(grid.plan),
      teacher_(grid.teacher),
      device_(grid.device),
      log_(grid.log),
      cells_path_(rank_cells_path(grid.out_dir, grid.group ? grid.group->rank() : 0)),
      finetune_options_(finetune_protocol_options(grid.config)),
      done_(done),
      skipped_(skipped),
      finished_(skipped),
      group_(grid.group),
      progress_("evaluate", static_cast<int64_t>(grid.plan.cells.size()), "cells/min", skipped) {
  progress_.set_log([this](const std::string& line) { log_.line(line); });
  progress_.set_file_interval(0);  // cells are minutes apart: log every one
  if (group_) {
    work_key_ = group_->fresh_key("grid-work");
    finished_key_ = group_->fresh_key("grid-cells");
    progress_.set_terminal(group_->rank() == 0);
  }
}

int64_t CellRunner::run() {
  // Cells are grouped so that what they share is computed once: teacher features per
  // target, a pretrained network per set x arch x seed.
  const std::vector<GridCell>& plan = plan_.cells;
  // In a job, the groups with work left are numbered alike on every rank (the same plan and
  // the same cells file), and a rank takes the group whose number the store hands it.
  auto claim = [this] { return group_ ? group_->add(work_key_, 1) - 1 : 0; };
  int64_t claimed = claim(), numbered = 0;
  for (size_t i = 0; i < plan.size();) {
    size_t j = i;
    while (j < plan.size() && plan[j].row == plan[i].row && plan[j].arch == plan[i].arch &&
           (plan_.rows[plan[i].row].kind == "teacher" || plan[j].seed == plan[i].seed))
      ++j;
    std::vector<const GridCell*> pending;
    for (size_t k = i; k < j; ++k)
      if (!done_.count(plan[k].key)) pending.push_back(&plan[k]);
    const GridRow& row = plan_.rows[plan[i].row];
    const std::string arch = plan[i].arch;
    const int64_t group_seed = plan[i].seed;
    i = j;
    if (pending.empty()) continue;
    if (group_) {
      if (numbered++ != claimed) continue;
      claimed = claim();
    }
    // A SIGINT/SIGTERM (core/stop.h) ends the grid between cells: cells.jsonl keeps the finished ones.
    throw_if_stopped("evaluate", finished_);
    if (row.kind == "teacher") {
      run_teacher_cells(pending);
      continue;
    }
    Network net = network(row, arch, group_seed);
    run_network_cells(row, net, pending);
  }
  int64_t done = -1;  // the job's count, when ranks share the grid
  if (group_) {
    // Done with the work handed out: wait for the ranks still at theirs.
    group_->wait_for_all(group_->fresh_key("grid-done"), finished_key_, "evaluate");
    done = skipped_ + group_->add(finished_key_, 0);
  }
  progress_.finish(std::to_string(cells_run_) + " cells run" + (group_ ? " by this rank" : "") + ", " +
                       std::to_string(skipped_) + " reused",
                   done);
  return cells_run_;
}

void CellRunner::run_teacher_cells(const std::vector<const GridCell*>& pending) {
  std::map<size_t, std::pair<at::Tensor, at::Tensor>> feats;  // per target, shared by the seeds
  auto fn = [&](const at::Tensor& x) { return teacher_.encoder->features(x); };
  for (const GridCell* cell : pending) {
    throw_if_stopped("evaluate", finished_);
    const auto t0 = std::chrono::steady_clock::now();
    const TargetData& td = target(cell->target);
    auto it = feats.find(cell->target);
    if (it == feats.end())
      it = feats.emplace(cell->target, std::make_pair(features(fn, td.train.images, td.norm),
                                                      features(fn, td.test.images, td.norm)))
               .first;
    nlohmann::json record = probe_all(it->second.first, it->second.second, td, cell->seed);
    if (config_.finetune.enabled)
      record["finetune"] = finetune_record(teacher::load_teacher(config_.teacher, device_).encoder, td, cell->seed);
    record["seconds"] = seconds_since(t0);
    record_cell(*cell, record);
  }
}

void CellRunner::run_network_cells(const GridRow& row, Network& network,
                                   const std::vector<const GridCell*>& pending) {
  Pretrained& net = network.net;
  auto fn = [&](const at::Tensor& x) { return net.encoder->features(x); };
  for (const GridCell* cell : pending) {
    throw_if_stopped("evaluate", finished_);
    const auto t0 = std::chrono::steady_clock::now();
    const TargetData& td = target(cell->target);
    const auto train_f = features(fn, td.train.images, td.norm);
    const auto test_f = features(fn, td.test.images, td.norm);
    nlohmann::json record = probe_all(train_f, test_f, td, cell->seed);
    for (const auto& item : network.pretrain_info.items()) record[item.key()] = item.value();
    if (row.align && plan_.targets[cell->target].source) {
      const auto a = teacher_alignment(apply_head(net.head, train_f, device_), td.train.labels,
                                       apply_head(net.head, test_f, device_), td.test.labels,
                                       teacher_test(cell->target), td.train.num_classes,
                                       probe_options(config_.probe.protocols.front(), cell->seed));
      record["alignment"] = {{"r2", a.r2},
                             {"cka", a.cka},
                             {"probe_test_accuracy", a.probe_test_accuracy},
                             {"probe_train_accuracy", a.probe_train_accuracy},
                             {"n", a.n}};
    }
    if (config_.finetune.enabled) record["finetune"] = finetune_record(network.fresh_copy(), td, cell->seed);
    record["seconds"] = seconds_since(t0);
    record_cell(*cell, record);
  }
}

Network CellRunner::network(const GridRow& row, const std::string& arch, int64_t seed) {
  const models::ImageShape shape = plan_.shape;
  const c10::Device device = device_;
  Network network;
  if (row.kind == "none") {
    const int64_t d = teacher_.feature_dim;
    network.net = fresh_network(arch, shape, d, static_cast<uint64_t>(seed), device);
    network.fresh_copy = [arch, shape, d, seed, device] {
      return fresh_network(arch, shape, d, static_cast<uint64_t>(seed), device).encoder;
    };
    return network;
  }
  const std::string stem = grid_.out_dir + "/models/" + file_safe(row.label) + "-" + file_safe(arch) + "-s" +
                           std::to_string(seed) + "-" +
                           hash_hex(nlohmann::json{{"file", row.file_hash},
                                                   {"arch", arch},
                                                   {"seed", seed},
                                                   {"pretrain", plan_.protocols.pretrain}}
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
      network.net = load_pretrained(stem + ".pt", arch, shape, d, device);
      reused = true;
      log_.line("evaluate: reusing " + stem + ".pt");
    } catch (const DataError& e) {
      log_.say(std::string("evaluate: ") + e.what() + "; pretraining it again");
    }
  }
  if (!reused) network.net = pretrain_network(row, arch, seed, stem);
  const Pretrained& net = network.net;
  network.fresh_copy = [stem, arch, shape, d, device] {
    return load_pretrained(stem + ".pt", arch, shape, d, device).encoder;
  };
  network.pretrain_info = {{"pretrain_seconds", net.seconds},
                           {"pretrain_pairs", pairs},
                           {"pretrain_first_loss", net.loss.empty() ? NAN : net.loss.front()},
                           {"pretrain_final_loss", net.loss.empty() ? NAN : net.loss.back()}};
  // Absent for weights saved before steps were kept.
  if (net.steps > 0) network.pretrain_info["pretrain_steps"] = net.steps;
  return network;
}

// Pretrains on the row's set and saves the weights as stem.pt (resumable from stem.ckpt).
Pretrained CellRunner::pretrain_network(const GridRow& row, const std::string& arch, int64_t seed,
                                        const std::string& stem) {
  PretrainOptions o;
  o.arch = arch;
  o.schedule = config_.pretrain;
  o.seed = static_cast<uint64_t>(seed);
  o.quiet = !config_.verbose;
  o.label = row.label + " " + arch + " seed " + std::to_string(seed);
  o.checkpoint_dir = stem + ".ckpt";
  o.device = device_;
  o.log = [&](const std::string& line) { log_.line(line); };
  torch::AutoGradMode grad(true);
  Pretrained net = pretrain_on_set(*row.set, o);
  save_pretrained(stem + ".pt", net);
  std::error_code ec;
  std::filesystem::remove_all(stem + ".ckpt", ec);
  log_.say(fmt::format("evaluate: pretrained {} on {} ({} pairs, {} steps), seed {}: loss {:.4f} -> {:.4f}, {:.0f} s",
                       arch, row.label, row.set->pairs.images.size(0), net.steps, seed, net.loss.front(),
                       net.loss.back(), net.seconds));
  return net;
}

// Target data, loaded at the source's image shape on first use.
const TargetData& CellRunner::target(size_t t) {
  auto it = target_data_.find(t);
  if (it != target_data_.end()) return it->second;
  TargetData d = load_target(plan_, t, config_);
  check_cell_memory(d, plan_, config_, teacher_.feature_dim, device_);
  log_.say("evaluate: target " + plan_.targets[t].name + ": " + std::to_string(d.train.size()) + " train, " +
           std::to_string(d.test.size()) + " test images, " + std::to_string(d.train.num_classes) + " classes");
  return target_data_.emplace(t, std::move(d)).first->second;
}

at::Tensor CellRunner::teacher_test(size_t t) {
  if (!teacher_test_reps_.defined())
    teacher_test_reps_ =
        teacher::representations(teacher_, plan_.source, "test", target(t).test.images, data::View{}, device_);
  return teacher_test_reps_;
}

measure::ProbeOptions CellRunner::probe_options(const std::string& protocol, int64_t seed) const {
  measure::ProbeOptions p = measure::probe_protocol(protocol);
  if (protocol == "standardized") p.epochs = config_.probe.epochs;
  if (config_.probe.steps > 0) p.steps = config_.probe.steps;
  p.seed = static_cast<uint64_t>(seed);
  p.device = device_;
  return p;
}

// Every probe protocol on the same features: the first is the cell's headline number.
nlohmann::json CellRunner::probe_all(const at::Tensor& train_f, const at::Tensor& test_f, const TargetData& td,
                                     int64_t seed) const {
  nlohmann::json record, each = nlohmann::json::object();
  for (const auto& protocol : config_.probe.protocols) {
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
}

at::Tensor CellRunner::features(const measure::FeatureFn& fn, const at::Tensor& images,
                                const data::Normalization& norm) const {
  return measure::extract_features(fn, images, norm, 512, device_);
}

// Fine-tunes `encoder` (a copy, given up by the caller) on a target: a cell's "finetune" record.
nlohmann::json CellRunner::finetune_record(models::Encoder encoder, const TargetData& td, int64_t seed) const {
  FinetuneOptions o = finetune_options_;
  o.seed = static_cast<uint64_t>(seed);
  o.device = device_;
  torch::AutoGradMode grad(true);
  const FinetuneResult f = finetune(std::move(encoder), td.train, td.test, td.norm, o);
  return nlohmann::json{{"test_accuracy", f.test_accuracy},
                        {"train_accuracy", f.train_accuracy},
                        {"final_loss", f.final_loss},
                        {"seconds", f.seconds}};
}

void CellRunner::record_cell(const GridCell& cell, nlohmann::json record) {
  const GridRow& row = plan_.rows[cell.row];
  record["key"] = cell.key;
  record["row"] = row.group;
  if (row.kind == "set") record["replicate"] = row.replicate;
  record["kind"] = row.kind;
  record["method"] = row.method;
  if (!row.path.empty()) record["file"] = row.path;
  record["arch"] = cell.arch;
  record["target"] = plan_.targets[cell.target].name;
  record["seed"] = cell.seed;
  append_cell(cells_path_, record);
  done_.emplace(cell.key, record);
  ++cells_run_;
  const int64_t before = finished_;
  finished_ = group_ ? skipped_ + group_->add(finished_key_, 1) : finished_ + 1;
  const std::string fields = fmt::format("{} {} {} seed {}: {:.2f}%", row.label, cell.arch,
                                         plan_.targets[cell.target].name, cell.seed,
                                         100 * record.at("probe_test_accuracy").get<double>());
  progress_.update(finished_, fields, 60.0 * static_cast<double>(finished_ - before));  // the rate in cells/min
  if (fault_at("evaluate.freeze", cells_run_)) std::raise(SIGSTOP);  // a rank that hangs between cells
}

}  // namespace

int64_t run_cells(const GridRun& grid, std::map<std::string, nlohmann::json>& done, int64_t skipped) {
  return CellRunner(grid, done, skipped).run();
}

}  // namespace ssdd::evaluate
