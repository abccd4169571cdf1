#include "ssdd/experiment/run_experiment.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>

#include "ssdd/core/clock.h"
#include "ssdd/core/error.h"
#include "ssdd/core/hash.h"
#include "ssdd/core/runtime.h"
#include "ssdd/data/cache.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/run_log.h"
#include "ssdd/report/report.h"
#include "ssdd/experiment/stage_stamp.h"
#include "ssdd/train/progress.h"

namespace ssdd::experiment {
namespace {

std::string without(nlohmann::json j, std::initializer_list<const char*> keys) {
  for (const char* k : keys) j.erase(k);
  return j.dump();
}

// One planned stage: its folder, its hash, and the work.
struct Stage {
  Stage(std::string name_, std::string dir_, std::string hash_, std::function<void(bool)> run_, bool clear = true)
      : name(std::move(name_)), dir(std::move(dir_)), hash(std::move(hash_)), run(std::move(run_)), clear_on_change(clear) {}
  std::string name, dir, hash;
  std::function<void(bool resume)> run;  // nullptr: nothing to run (a reused teacher)
  bool clear_on_change = true;           // false: the stage itself reuses what still applies
  // Finished outputs of this stage made outside a run (a teacher trained by `ssdd teacher`
  // into the cache folder): their wall time, or a negative number when there are none.
  std::function<double()> made_elsewhere;
};

class Runner {
 public:
  Runner(const ExperimentConfig& config, std::string out_dir, bool dry_run)
      : config_(config), out_(std::move(out_dir)), dry_run_(dry_run) {}

  RunResult run() {
    const auto start = std::chrono::steady_clock::now();
    plan();
    if (!dry_run_) {
      io::make_dirs(out_);
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
        if (action == StageAction::skip) {
          record.action = "skipped";
          record.seconds = dry_run_ ? 0.0 : stamp.seconds;
        } else if (dry_run_) {
          record.action = "planned";
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
      clear_stage(stage.dir);
      what = "restarted";
    } else if (was_running) {
      what = "resumed";
    }
    log_.say("[" + context + "] " + (what == "resumed" ? "resuming" : "starting") + " in " + stage.dir);
    write_stamp(stage.dir, {stage.name, stage.hash, "running", 0.0});
    train::set_progress_context(context);
    const auto start = std::chrono::steady_clock::now();
    stage.run(true);
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    write_stamp(stage.dir, {stage.name, stage.hash, "done", *seconds});
    log_.say("[" + context + "] done in " + train::format_duration(*seconds));
    return what;
  }

  void plan() {
    // Teacher.
    const auto& tc = config_.teacher;
    if (!tc.reuse.empty()) {
      teacher_dir_ = tc.reuse;
      if (!io::file_exists(teacher_dir_ + "/teacher.json"))
        throw DataError(teacher_dir_ + "/teacher.json", "a trained teacher ([teacher] path)", "no teacher.json");
      teacher_hash_ = io::parse_json_file(teacher_dir_ + "/teacher.json").value("id", hash_hex(teacher_dir_));
      stages_.push_back({"teacher", teacher_dir_, teacher_hash_, nullptr});
    } else {
      teacher_hash_ = tc.config.hash();
      teacher_dir_ = tc.cache ? data::cache_dir() + "/teachers/" + tc.config.data + "-" + teacher_hash_
                              : out_ + "/teacher";
      const auto config = tc.config;
      const std::string dir = teacher_dir_;
      Stage stage{"teacher", dir, teacher_hash_, [config, dir](bool resume) { teacher::train_teacher(config, dir, resume); }};
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
      const std::string hash = hash_hex(c.hash() + teacher_hash_);
      c.teacher = teacher_dir_;
      const std::string dir = out_ + "/distill/" + d.label;
      stages_.push_back({"distill " + d.label, dir, hash, [c, dir](bool resume) { distill::run_distill(c, dir, resume); }});
      sets.push_back(d.label + "=" + dir + "/distilled.pt");
      sets_hash += d.label + ":" + hash + ";";
    }
    for (const auto& b : config_.baselines) {
      auto c = b.config;
      const std::string hash =
          hash_hex(without(c.to_json(), {"teacher", "threads", "device", "data_dir"}) + teacher_hash_);
      c.teacher = teacher_dir_;
      const std::string dir = out_ + "/baselines/" + b.label;
      stages_.push_back({"baseline " + b.label, dir, hash, [c, dir](bool) { evaluate::make_baseline(c, dir); }});
      sets.push_back(b.label + "=" + dir + "/distilled.pt");
      sets_hash += b.label + ":" + hash + ";";
    }
    // Grids. Their cells are keyed by the sets' content, so a changed grid is resumed, not
    // cleared: cells that still apply are reused.
    for (const auto& g : config_.grids) {
      auto c = g.config;
      c.distilled.insert(c.distilled.begin(), sets.begin(), sets.end());
      c.teacher = teacher_dir_;
      const std::string hash = hash_hex(
          without(c.to_json(), {"teacher", "distilled", "threads", "device", "verbose", "data_dir"}) + sets_hash +
          teacher_hash_);
      const std::string dir = out_ + "/evaluate/" + g.name;
      stages_.push_back({"evaluate " + g.name, dir, hash, [c, dir](bool) { evaluate::run_grid(c, dir); }, false});
    }
  }

  void write_run_json(const std::vector<StageRecord>& records, bool finished, double seconds = 0) {
    nlohmann::json stages = nlohmann::json::array();
    // Folders inside the run folder are recorded relative to it, so the folder can move.
    const std::string prefix = out_ + "/";
    for (const auto& r : records)
      stages.push_back({{"name", r.name},
                        {"dir", r.dir.rfind(prefix, 0) == 0 ? r.dir.substr(prefix.size()) : r.dir}, {"hash", r.hash}, {"action", r.action}, {"seconds", r.seconds}});
    nlohmann::json j = {{"name", config_.name},     {"config", config_.source}, {"teacher_dir", teacher_dir_},
                        {"finished", finished},     {"updated", utc_timestamp()},     {"stages", stages},
                        {"machine", machine_info()}};
    if (finished) j["seconds"] = seconds;
    io::write_json_file(out_ + "/run.json", j);
  }

  const ExperimentConfig& config_;
  std::string out_;
  bool dry_run_;
  io::RunLog log_;  // writes to the run's log through the tee, and to the terminal
  std::vector<Stage> stages_;
  std::string teacher_dir_, teacher_hash_;
};

}  // namespace

RunResult run_experiment(const ExperimentConfig& config, const std::string& out_dir, bool dry_run) {
  Runner runner(config, out_dir, dry_run);
  try {
    return runner.run();
  } catch (...) {
    train::set_progress_context("");
    io::RunLog::tee("");
    throw;
  }
}

}  // namespace ssdd::experiment
