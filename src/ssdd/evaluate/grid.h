// The results grid (SPEC 8, issues 5 and 12): every distilled set x architecture x
// target data set x seed, scored by one protocol, beside two reference rows:
//   teacher  the teacher encoder itself, probed on each target (once per target and seed,
//            not per architecture): the head-room a distilled set tries to transfer;
//   none     a randomly initialised network of each architecture, probed;
//   <label>  each distilled set: a fresh network pretrained on it (once per set x arch x
//            seed, shared by all targets), probed on each target, and on the source target
//            also compared with the teacher on held-out images (alignment.h).
//
// Run folder:
//   config.json   the grid's settings
//   cells.jsonl   one JSON record per finished cell, appended and flushed; a rerun skips
//                 the cells already there (matched by a key over the set file's content,
//                 arch, target, seed and protocol), so an interrupted grid resumes
//   models/       pretrained weights per set x arch x seed, so pretraining is not redone
//   results.json  every record plus mean/std per row x arch x target
//   results.md    the paper-style table (first arch), cross-architecture and alignment tables
//   results.svg   bar chart of the first table; log
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/core/config_json.h"
#include "ssdd/core/runtime_options.h"
#include "ssdd/evaluate/finetune_protocol.h"
#include "ssdd/evaluate/grid_options.h"

namespace ssdd::evaluate {

struct GridConfig {
  std::vector<std::string> distilled;  // distilled.pt files, each PATH or LABEL=PATH
  std::string teacher;                 // teacher folder (teacher row, alignment)
  std::vector<std::string> archs = {"convnet:64-64-64"};
  // Target data sets: registry names, "source" (the sets' own data set), or NAME=DIR
  // for a data set kept outside its default folder.
  std::vector<std::string> targets = {"source"};
  int64_t seeds = 3;                   // seeds runtime.seed .. runtime.seed + seeds - 1
  PretrainSchedule pretrain;
  GridProbeOptions probe;
  bool teacher_row = true;
  bool none_row = true;
  bool alignment = true;
  GridFinetuneOptions finetune;
  std::string data_dir;                // the source data set's folder
  // The square side the source is read at (0: its own, or the sets' size). Other targets are
  // always read at the source images' size, which the students take: imagenette at 32x32
  // for a CIFAR-10 source.
  int resolution = 0;
  // runtime.seed is the grid's first seed: the seeds of one grid can be split between jobs
  // (seed 0 seeds 2, seed 2 seeds 1) whose cells are those of one grid. "seed" is written
  // only away from 0, so grids made before it keep their config and hash.
  RuntimeOptions runtime;
  bool verbose = false;                // per-step pretraining progress

  // Flat in JSON under the keys grids have always had (core/config_json.h, grid_options.h).
  static std::vector<ConfigPart> json_parts() {
    return {{"runtime", ""},
            {"pretrain", "pretrain_", {{"batch_size", "pretrain_batch"}, {"weight_decay", "weight_decay"}}},
            {"probe", "probe_", {{"protocols", "probes"}}},
            {"finetune", "finetune_", {{"enabled", "finetune"}}}};
  }

  nlohmann::json to_json() const;
  // Unknown keys and bad values -> ConfigError naming `where` (the file and section).
  static GridConfig from_json(const nlohmann::json& j, const std::string& where = "evaluate config");
  // Counts in range (from_json calls it; so does the CLI after its overrides): ConfigError
  // naming `where`, the key, the range and the value found.
  void validate(const std::string& where) const;
};

// The fine-tuning options of a grid: its protocol, with the grid's epochs (ssdd's), lr and
// probe.max_train applied.
struct FinetuneOptions;
FinetuneOptions finetune_protocol_options(const GridConfig& config);

// "cpu" (Fashion-MNIST scale, 2 cores, equal steps), "quick" (smoke test), "paper" (GPU, 1000 epochs).
GridConfig grid_preset(const std::string& name);
// A settings layer over a preset (a config file's table) that names pretrain_epochs but not
// pretrain_steps asks for the epochs protocol: returned with pretrain_steps = 0, so that the cpu
// preset's step count does not silently override the epochs it names.
nlohmann::json with_epochs_protocol(nlohmann::json layer);
std::vector<std::string> grid_presets();
// The footer text describing the presets (their settings and timings), for --help.
std::string grid_presets_help();

struct GridResult {
  nlohmann::json results;     // what results.json holds
  int64_t cells_run = 0;      // computed by this call
  int64_t cells_skipped = 0;  // found finished in cells.jsonl
  double seconds = 0;
};

GridResult run_grid(const GridConfig& config, const std::string& out_dir);

// results.md from a results.json object (rows, archs, targets, summary).
std::string results_markdown(const nlohmann::json& results);

// Mean and sample standard deviation (n - 1; 0 for one value).
std::pair<double, double> mean_std(const std::vector<double>& values);

}  // namespace ssdd::evaluate
