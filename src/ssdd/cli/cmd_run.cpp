#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "ssdd/cli/commands.h"
#include "ssdd/cli/out_folder.h"
#include "ssdd/core/text.h"
#include "ssdd/core/error.h"
#include "ssdd/core/limits.h"
#include "ssdd/experiment/experiment_config.h"
#include "ssdd/experiment/run_experiment.h"
#include "ssdd/report/report.h"
#include "ssdd/train/job.h"

namespace ssdd::cli {
namespace {


// A file path, else a built-in name. A folder is never a config: `ssdd run quick` beside a
// run folder named quick (`--out quick`) means the built-in, and says so.
experiment::ExperimentConfig load(const std::string& config) {
  if (config.empty()) return experiment::builtin_experiment("fashion-mnist-cpu");
  const auto builtins = experiment::builtin_experiments();
  const bool builtin = std::find(builtins.begin(), builtins.end(), config) != builtins.end();
  std::error_code ec;
  const auto status = std::filesystem::status(config, ec);
  if (std::filesystem::is_regular_file(status)) return experiment::load_experiment_file(config);
  if (std::filesystem::exists(status) && !builtin)
    throw ConfigError(config, std::filesystem::is_directory(status) ? "is a folder, not a config file"
                                                                     : "is not a regular file, so not a config file");
  if (builtin) {
    if (std::filesystem::exists(status))
      std::fprintf(stderr, "ssdd: note: %s is not a file; using the built-in config '%s'\n", config.c_str(),
                   config.c_str());
    return experiment::builtin_experiment(config);
  }
  throw ConfigError(config, "no such file, and not a built-in config (built in: " + joined(builtins) + ")");
}

}  // namespace

void add_run_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "run", "Run a whole experiment from one config: teacher, distillation, baselines, evaluation, report");
  struct State {
    std::string config, out;
    bool dry_run = false, print_config = false, report_only = false, force = false, retrain = false;
    int threads = -1;
    std::string device;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("config", s->config,
                  "A TOML (or JSON) experiment config, or the name of a built-in one (" +
                      joined(experiment::builtin_experiments()) + "); default: fashion-mnist-cpu");
  cmd->add_option("--out", s->out, "Run folder (default: runs/<config name>); rerun to resume");
  cmd->add_flag("--dry-run", s->dry_run, "Print the stages and what a run would do with each, then stop");
  cmd->add_flag("--print-config", s->print_config, "Print the config's text (a starting point for your own) and stop");
  cmd->add_flag("--report-only", s->report_only, "Rewrite report.md and report.html of an existing run folder");
  add_force_flag(*cmd, s->force);
  cmd->add_flag("--retrain", s->retrain,
                "Train the teacher even when a shipped one (teachers/) matches the config, or it is cached");
  cmd->add_option("--threads", s->threads, "CPU threads for every stage (0 = all cores; default: the config's)");
  cmd->add_option("--device", s->device, "cpu or cuda[:N] for every stage (default: the config's)");
  cmd->footer(
      "Stages are skipped when their outputs exist with the same settings, resumed from checkpoints when a run\n"
      "was killed, and redone when their settings (or a stage they read) changed. The teacher is cached under\n"
      "$SSDD_CACHE/teachers/ and shared by every run with the same teacher settings. Outputs: run.json, log,\n"
      "config.toml, report.md, report.html and one folder per stage. Config reference: configs/*.toml and\n"
      "src/ssdd/experiment/experiment_config.h.");
  cmd->callback([s, &action] {
    action = [s] {
      auto config = load(s->config);
      if (s->print_config) {
        std::printf("%s", config.text.c_str());
        return;
      }
      if (train::job_world().distributed())
        throw ConfigError("ssdd run", "runs as one process for now (issue 26); under a launcher, run the grid "
                                      "alone: `ssdd launch -n N -- evaluate --config RUN/evaluate/NAME/config.json ...`");
      if (s->threads >= 0) check_threads("--threads", s->threads);
      config.set_runtime(s->threads, s->device);
      const std::string out = s->out.empty() ? "runs/" + config.name : s->out;
      set_stop_log(out + "/log");
      if (s->report_only) {
        if (!io::is_claimed(out) && !s->force)
          throw IoError(out, "is not a run folder made by ssdd (no " + std::string(io::kMarkerFile) +
                                 " marker): nothing to report on (--force to write the report anyway)");
        report::write_report(out);
        std::printf("%s/report.md, %s/report.html\n", out.c_str(), out.c_str());
        return;
      }
      if (!s->dry_run) claim_if_forced(out, "run", s->force);
      const auto result = experiment::run_experiment(config, out, {s->dry_run, s->retrain});
      if (s->dry_run) {
        int width = 0;  // the longest stage name sets the column
        for (const auto& st : result.stages) width = std::max(width, static_cast<int>(st.name.size()));
        for (const auto& st : result.stages)
          std::printf("%-*s  %-8s %s\n", width, st.name.c_str(), st.action.c_str(), st.dir.c_str());
        return;
      }
      // The results and the claim check: the report up to its per-set details.
      const std::string md = report::report_markdown(out);
      std::printf("%s\nFull report: %s/report.md and %s/report.html\n", md.substr(0, md.find("## Distilled sets")).c_str(),
                  out.c_str(), out.c_str());
    };
  });
}

}  // namespace ssdd::cli
