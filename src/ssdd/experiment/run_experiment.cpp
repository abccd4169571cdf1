#include "ssdd/experiment/run_experiment.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "ssdd/core/clock.h"
#include "ssdd/core/error.h"
#include "ssdd/core/config_hash.h"
#include "ssdd/core/hash.h"
#include "ssdd/core/runtime.h"
#include "ssdd/data/cache.h"
#include "ssdd/data/identity.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/folder_lock.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/owned_folder.h"
#include "ssdd/io/run_log.h"
#include "ssdd/io/run_record.h"
#include "ssdd/report/report.h"
#include "ssdd/teacher/shipped.h"
#include "ssdd/experiment/stage_stamp.h"
#include "ssdd/train/progress.h"

namespace ssdd::experiment {
namespace {

// One planned stage: its folder, its hash, and the work.
struct Stage {
  Stage(std::string name_, std::string dir_, std::string hash_, std::function<void(bool)> run_, bool clear = true)
      : name(std::move(name_)), dir(std::move(dir_)), hash(std::move(hash_)), run(std::move(run_)), clear_on_change(clear) {}
  std::string name, dir, hash;
  std::string owner;  // the folder `dir` must lie inside to be cleared; empty: the run folder
  std::function<void(bool resume)> run;  // nullptr: nothing to run (a reused teacher)
  bool clear_on_change = true;           // false: the stage itself reuses what still applies
  // Finished outputs of this stage made outside a run (a teacher trained by `ssdd teacher`
  // into the cache folder): their wall time, or a negative number when there are none.
  std::function<double()> made_elsewhere;
  bool redo = false;  // run it again even when it is done (`ssdd run --retrain` for the teacher)
  // What running it would do when that is not plain work ("shipped": a teacher taken from
  // teachers/, teacher/shipped.h, rather than trained); empty otherwise.
  std::function<std::string()> source;
};

class Runner {
 public:
  Runner(const ExperimentConfig& config, std::string out_dir, const RunOptions& options)
      : config_(config), out_(std::move(out_dir)), dry_run_(options.dry_run), retrain_teacher_(options.retrain_teacher) {}

  RunResult run() {
    const auto start = std::chrono::steady_clock::now();
    plan();
    if (!dry_run_) {
      open_run_folder();
      io::write_file_atomic(out_ + "/config.toml", config_.text);
      io::write_json_file(out_ + "/config.json", config_.to_json());
      io::RunLog::tee(out_ + "/log");
      log_.say("run: " + config_.name + " from " + config_.source + " -> " + out_ + " (" +
               std::to_string(stages_.size()) + " stages + report)");
    }
    RunResult result;
    for (size_t i = 0; i < stages_.size(); ++i) {
      const Stage& stage = stages_[i];
      const std::string context = "run " + std::to_string(i + 1) + "/" + std::to_string(stages_.size()) + " " + stage.name;
      StageRecord record{stage.name, stage.dir, stage.hash, "", 0.0};
      if (!stage.run) {
        record.action = "reused";
      } else {
        const auto stage_lock = dry_run_ ? nullptr : open_stage_folder(stage);
        StageStamp stamp = read_stamp(stage.dir);  // read once per stage
        StageAction action = plan_stage(stamp, stage.hash);
        if (action == StageAction::resume && stamp.status.empty() && stage.made_elsewhere) {
          const double seconds = stage.made_elsewhere();
          if (seconds >= 0) {
            stamp = {stage.name, stage.hash, "done", seconds};
            if (!dry_run_) write_stamp(stage.dir, stamp);
            action = StageAction::skip;
          }
        }
        if (stage.redo && action == StageAction::skip) action = StageAction::restart;
        if (action == StageAction::skip) {
          record.action = "skipped";
          record.seconds = dry_run_ ? 0.0 : stamp.seconds;
        } else if (dry_run_) {
          const std::string source = stage.source ? stage.source() : "";
          record.action = source.empty() ? "planned" : source;
        } else {
          record.action = execute(stage, action, stamp.status == "running", context, &record.seconds);
        }
      }
      if (!dry_run_ && (record.action == "skipped" || record.action == "reused"))
        log_.say("[" + context + "] " + record.action + (stage.dir.empty() ? "" : " (" + stage.dir + ")"));
      result.stages.push_back(record);
      if (!dry_run_) write_run_json(result.stages, false);
    }
    train::set_progress_context("");
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!dry_run_) {
      write_run_json(result.stages, true, result.seconds);
      train::set_progress_context("run report");
      report::write_report(out_);
      train::set_progress_context("");
      log_.say("run: done in " + train::format_duration(result.seconds) + "; " + out_ + "/report.md, report.html");
      io::RunLog::tee("");
    }
    return result;
  }

 private:
  std::string execute(const Stage& stage, StageAction action, bool was_running, const std::string& context,
                      double* seconds) {
    std::string what = "ran";
    if (action == StageAction::restart && !stage.clear_on_change) {
      log_.say("[" + context + "] settings changed since " + stage.dir + " was made: reusing what still applies");
      what = "restarted";
    } else if (action == StageAction::restart) {
      log_.say("[" + context + "] settings changed since " + stage.dir + " was made: clearing it and starting again");
      clear_stage(stage.dir, stage.owner.empty() ? out_ : stage.owner);
      what = "restarted";
    } else if (was_running) {
      what = "resumed";
    }
    log_.say("[" + context + "] " + (what == "resumed" ? "resuming" : "starting") + " in " + stage.dir);
    // Asked once: finding a shipped teacher reads and hashes its weights.
    if (const std::string source = stage.source ? stage.source() : ""; !source.empty()) what = source;
    write_stamp(stage.dir, {stage.name, stage.hash, "running", 0.0});
    train::set_progress_context(context);
    const auto start = std::chrono::steady_clock::now();
    stage.run(true);
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    write_stamp(stage.dir, {stage.name, stage.hash, "done", *seconds});
    log_.say("[" + context + "] done in " + train::format_duration(*seconds));
    return what;
  }

  // The run folder is ssdd's (marked: io/owned_folder.h) and this process's alone while the
  // run lasts; a run folder an earlier ssdd made before markers existed is adopted.
  void open_run_folder() {
    if (!io::is_claimed(out_) && made_by_earlier_ssdd(out_ + "/run.json")) io::adopt_folder(out_, "run");
    io::claim_folder(out_, "run");
    lock_ = std::make_unique<io::FolderLock>(out_, io::FolderLock::IfHeld::refuse);
  }

  static bool made_by_earlier_ssdd(const std::string& run_json) {
    if (!io::file_exists(run_json)) return false;
    try {
      io::read_run_record(run_json);  // stages and machine: what every ssdd wrote
      return true;
    } catch (const Error&) {
      return false;
    }
  }

  // A stage folder outside the run folder (the shared teacher cache) is locked for as long
  // as this run reads or writes it; another run waits for it, then finds it done.
  std::unique_ptr<io::FolderLock> open_stage_folder(const Stage& stage) {
    if (stage.owner.empty()) return nullptr;  // inside the run folder, which this run holds
    const bool legacy_teacher = io::file_exists(stage.dir + "/teacher.json") || io::file_exists(stage.dir + "/stage.json");
    if (!io::is_claimed(stage.dir) && legacy_teacher) io::adopt_folder(stage.dir, stage.name);
    io::claim_folder(stage.dir, stage.name);
    return std::make_unique<io::FolderLock>(stage.dir, io::FolderLock::IfHeld::wait);
  }

  // The digest of what a stage reads from a data set (data/identity.h): other images
  // under the same name give another hash, so the stages that read them run again.
  static std::string data_digest(const std::string& name, const std::string& data_dir) {
    data::LoadOptions load;
    load.data_dir = data_dir;
    return data::dataset_digest(name, load);
  }

  // A grid's target entries (NAME, "source" or NAME=DIR) as (name, folder), resolved as the
  // grid resolves them: "source" is the sets' own data set, in the grid's data_dir.
  std::vector<std::pair<std::string, std::string>> resolved_targets(const evaluate::GridConfig& c) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& t : c.targets) {
      const auto eq = t.find('=');
      std::string name = eq == std::string::npos ? t : t.substr(0, eq);
      std::string dir = eq == std::string::npos ? "" : t.substr(eq + 1);
      if (name == "source") {
        name = source_data_;
        if (dir.empty()) dir = c.data_dir;
      }
      out.emplace_back(name, dir);
    }
    return out;
  }

  std::vector<std::string> target_names(const evaluate::GridConfig& c) const {
    std::vector<std::string> names;
    for (const auto& [name, dir] : resolved_targets(c)) names.push_back(name);
    return names;
  }

  // The target data sets of a grid by content.
  std::string targets_digest(const evaluate::GridConfig& c) const {
    std::string text;
    for (const auto& [name, dir] : resolved_targets(c)) text += name + ":" + data_digest(name, dir) + ";";
    return text;
  }

  void plan() {
    // Teacher.
    const auto& tc = config_.teacher;
    if (!tc.reuse.empty()) {
      teacher_dir_ = tc.reuse;
      if (!io::file_exists(teacher_dir_ + "/teacher.json"))
        throw DataError(teacher_dir_ + "/teacher.json", "a trained teacher ([teacher] path)", "no teacher.json");
      const auto meta = io::parse_json_file(teacher_dir_ + "/teacher.json");
      teacher_hash_ = meta.value("id", hash_hex(teacher_dir_)) + meta.value("weights_digest", "");
      source_data_ = meta.value("data", "");
      stages_.push_back({"teacher", teacher_dir_, teacher_hash_, nullptr});
    } else {
      teacher_hash_ = teacher::teacher_id(tc.config);
      source_data_ = tc.config.data;
      teacher_dir_ = tc.cache ? data::cache_dir() + "/teachers/" + tc.config.data + "-" + teacher_hash_
                              : out_ + "/teacher";
      const auto config = tc.config;
      const std::string dir = teacher_dir_;
      const bool retrain = retrain_teacher_;
      Stage stage{"teacher", dir, teacher_hash_,
                  [config, dir, retrain](bool resume) { teacher::provide_teacher(config, dir, resume, retrain); }};
      if (tc.cache) stage.owner = data::cache_dir() + "/teachers";
      stage.redo = retrain;
      if (!retrain)
        stage.source = [hash = teacher_hash_] {
          return teacher::find_shipped_teacher(hash) ? std::string("shipped") : std::string();
        };
      // A teacher folder whose teacher.json carries this config hash is this teacher.
      stage.made_elsewhere = [dir, hash = teacher_hash_]() -> double {
        if (!io::file_exists(dir + "/teacher.pt") || !io::file_exists(dir + "/teacher.json")) return -1;
        if (io::parse_json_file(dir + "/teacher.json").value("id", "") != hash) return -1;
        const std::string metrics = dir + "/metrics.json";
        return io::file_exists(metrics) ? io::parse_json_file(metrics).value("train_seconds", 0.0) : 0.0;
      };
      stages_.push_back(std::move(stage));
    }
    // Distilled sets and baselines: each is one row of the grids.
    std::vector<std::string> sets;
    std::string sets_hash;
    for (const auto& d : config_.distill) {
      auto c = d.config;
      c.teacher = "";
      const std::string data = c.data.empty() ? source_data_ : c.data;
      const std::string hash = hash_hex(c.hash() + teacher_hash_ + "|data " + data_digest(data, c.data_dir));
      c.teacher = teacher_dir_;
      const std::string dir = out_ + "/distill/" + d.name();
      stages_.push_back({"distill " + d.name(), dir, hash, [c, dir](bool resume) { distill::run_distill(c, dir, resume); }});
      sets.push_back(d.label + "=" + dir + "/distilled.pt");  // replicates share the row's label
      sets_hash += d.name() + ":" + hash + ";";
    }
    for (const auto& b : config_.baselines) {
      auto c = b.config;
      const std::string data = c.data.empty() ? source_data_ : c.data;
      const std::string hash = hash_hex(hashed_settings(c.to_json()).dump() +
                                        teacher_hash_ + "|data " + data_digest(data, c.data_dir));
      c.teacher = teacher_dir_;
      const std::string dir = out_ + "/baselines/" + b.name();
      stages_.push_back({"baseline " + b.name(), dir, hash, [c, dir](bool) { evaluate::make_baseline(c, dir); }});
      sets.push_back(b.label + "=" + dir + "/distilled.pt");
      sets_hash += b.name() + ":" + hash + ";";
    }
    // Grids. Their cells are keyed by the sets' content, so a changed grid is resumed, not
    // cleared: cells that still apply are reused.
    for (const auto& g : config_.grids) {
      auto c = g.config;
      c.distilled.insert(c.distilled.begin(), sets.begin(), sets.end());
      c.teacher = teacher_dir_;
      // Targets count by name and content (targets_digest), not by folder: the same images
      // elsewhere are the same grid.
      auto settings = c.to_json();
      settings["targets"] = target_names(c);
      const std::string hash =
          hash_hex(hashed_settings(settings).dump() +
                   sets_hash + teacher_hash_ + "|targets " + targets_digest(c));
      const std::string dir = out_ + "/evaluate/" + g.name;
      stages_.push_back({"evaluate " + g.name, dir, hash, [c, dir](bool) { evaluate::run_grid(c, dir); }, false});
    }
  }

  void write_run_json(const std::vector<StageRecord>& records, bool finished, double seconds = 0) {
    io::RunRecord run{config_.name, config_.source, teacher_dir_, utc_timestamp(), finished, std::nullopt, {},
                      machine_info()};
    if (finished) run.seconds = seconds;
    // Folders inside the run folder are recorded relative to it, so the folder can move.
    const std::string prefix = out_ + "/";
    for (const auto& r : records)
      run.stages.push_back({r.name, r.dir.rfind(prefix, 0) == 0 ? r.dir.substr(prefix.size()) : r.dir, r.hash,
                            r.action, r.seconds});
    io::write_json_file(out_ + "/run.json", io::to_json(run));
  }

  const ExperimentConfig& config_;
  std::string out_;
  bool dry_run_, retrain_teacher_;
  io::RunLog log_;  // writes to the run's log through the tee, and to the terminal
  std::vector<Stage> stages_;
  std::string teacher_dir_, teacher_hash_;
  std::string source_data_;  // the teacher's data set: the sets' source unless a stage names another
  std::unique_ptr<io::FolderLock> lock_;  // the run folder's, for the whole run
};

}  // namespace

RunResult run_experiment(const ExperimentConfig& config, const std::string& out_dir, const RunOptions& options) {
  Runner runner(config, out_dir, options);
  try {
    return runner.run();
  } catch (...) {
    train::set_progress_context("");
    io::RunLog::tee("");
    throw;
  }
}

}  // namespace ssdd::experiment
