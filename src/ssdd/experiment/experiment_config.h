// The experiment config of `ssdd run` (issue 6): one TOML file that names every stage.
//
//   name = "fashion-mnist-cpu"    # the run folder's default name
//   preset = "cpu"                # every stage's starting preset (cpu | quick | paper)
//   data = "fashion-mnist"        # these seven, where given, apply to every stage that has them
//   data_dir = ""
//   resolution = 0                # square side every stage reads the source at (0: its own)
//   budget = 100
//   seed = 0
//   distill_seeds = 1             # each distilled set and baseline made this many times, with
//                                 # seeds seed, seed+1, ...; a grid pools them into one row
//   threads = 0
//   device = "cpu"
//
//   [teacher]                     # TeacherConfig keys; or `path` = a trained teacher to reuse;
//   preset = "cpu"                # `cache` = true keeps it in the cache, shared by every run
//
//   [distill]                     # DistillConfig keys shared by the sets below
//   [distill.ours]                # one sub-table per distilled set; its name labels the row
//   method = "ours"
//
//   [baselines]                   # BaselineConfig keys shared by the methods
//   methods = ["random", "kmeans"]
//
//   [evaluate]                    # GridConfig keys of the main grid
//   [evaluate.cross-arch]         # each sub-table: one more grid, inheriting the keys above
//
// A stage's settings are built as: its preset, then the top-level keys, then its section,
// then its sub-table; each step is validated by the stage's own JSON reader, so an unknown
// key or a bad value stops the run before any work, naming the file and the section.
//
// Paths: a relative path in a config file (data_dir, [teacher] path, data = "folder:DIR",
// [evaluate] distilled = ["LABEL=PATH"] and targets = ["NAME=DIR"]) is resolved against the
// folder of the file, not the working directory, so `ssdd run ../exp/my.toml` reads the
// data beside my.toml. The built-in configs have no file: theirs stay relative to the
// working directory. The run's config.json records the resolved (absolute) paths; its
// config.toml is the text as given. The same rule holds for the stages' --config files
// (core/config_paths.h).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/distill/distiller.h"
#include "ssdd/evaluate/baselines.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/teacher/teacher.h"

namespace ssdd::experiment {

struct TeacherStage {
  std::string reuse;     // a trained teacher folder; empty: train one
  bool cache = true;     // train into the shared cache (by data set and config hash), not the run folder
  teacher::TeacherConfig config;
};

// A set's stage folder and name: the label, or for a further distillation seed (replicate
// k > 0, seed = the label's seed + k) "<label>-seed<seed>"; every replicate is one row.
std::string replicate_name(const std::string& label, int64_t replicate, uint64_t seed);

struct DistillStage {
  std::string label;     // the row's name in every table ("ours", "krrst", "ours-no-approx", ...)
  distill::DistillConfig config;  // `teacher` is filled in by the runner
  int64_t replicate = 0;  // 0 .. distill_seeds - 1
  std::string name() const { return replicate_name(label, replicate, config.runtime.seed); }
};

struct BaselineStage {
  std::string label;
  evaluate::BaselineConfig config;  // `teacher` is filled in by the runner
  int64_t replicate = 0;
  std::string name() const { return replicate_name(label, replicate, config.runtime.seed); }
};

struct GridStage {
  std::string name;      // "main" or the sub-table's name
  evaluate::GridConfig config;  // `distilled` and `teacher` are filled in by the runner
};

struct ExperimentConfig {
  std::string name;
  std::string source;    // the file it came from, for messages
  std::string text;      // the file's text, copied into the run folder
  TeacherStage teacher;
  std::vector<DistillStage> distill;
  std::vector<BaselineStage> baselines;
  std::vector<GridStage> grids;

  nlohmann::json to_json() const;  // every stage's resolved settings
  // Threads and device for every stage (`ssdd run --threads/--device`): threads < 0 or an
  // empty device keep each stage's own. Neither enters a stage's hash.
  void set_runtime(int threads, const std::string& device);
};

// From the parsed file (JSON form of the TOML); `source` names it in errors.
ExperimentConfig parse_experiment(const nlohmann::json& file, const std::string& source, const std::string& text);
// A .toml or .json file.
ExperimentConfig load_experiment_file(const std::string& path);
// The shipped configs, compiled in: "fashion-mnist-cpu" (the default of `ssdd run`), "quick".
ExperimentConfig builtin_experiment(const std::string& name);
std::vector<std::string> builtin_experiments();

}  // namespace ssdd::experiment
