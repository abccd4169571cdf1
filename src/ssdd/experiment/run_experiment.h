// `ssdd run`: the whole experiment of one config, as a chain of stages that meet through
// files (ARCHITECTURE.md): teacher -> distilled sets -> baselines -> grids -> report.
//
// Run folder:
//   config.toml     the config as given; config.json every stage's resolved settings
//   log             one log of every stage (each stage also keeps its own)
//   run.json        the stages: folder, hash, what was done (ran, resumed, skipped), wall time;
//                   the machine and library versions
//   distill/<label>/, baselines/<label>/, evaluate/<grid>/   each stage's outputs + stage.json
//   teacher/        unless the teacher is cached (the default: shared by every run, kept under
//                   <cache>/teachers/<data>-<config hash>/) or reused from [teacher] path
//   report.md, report.html
// A stage whose stage.json has the same hash is skipped; a killed one resumes from its
// checkpoints; one whose settings (or an upstream stage) changed is cleared and re-run.
#pragma once
#include <string>
#include <vector>

#include "ssdd/experiment/experiment_config.h"

namespace ssdd::experiment {

struct StageRecord {
  std::string name;    // "teacher", "distill ours", "baseline random", "evaluate main", "report"
  std::string dir;
  std::string hash;
  std::string action;  // ran | resumed | restarted | skipped | reused | planned | shipped (a teacher from teachers/)
  double seconds = 0;  // wall time of the run that produced the outputs
};

struct RunResult {
  std::vector<StageRecord> stages;
  double seconds = 0;
};

struct RunOptions {
  bool dry_run = false;          // only plan: every record's action says what a real run would do
  bool retrain_teacher = false;  // train the teacher even when a shipped one matches or it is done
};

RunResult run_experiment(const ExperimentConfig& config, const std::string& out_dir, const RunOptions& options = {});

}  // namespace ssdd::experiment
