#include <CLI/CLI.hpp>

#include <iostream>

#include "ssdd/cli/commands.h"
#include "ssdd/core/error.h"
#include "ssdd/core/runtime.h"
#include "ssdd/core/stop.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/run_log.h"
#include "ssdd/train/job.h"

namespace ssdd::cli {
namespace {

std::string& stop_log() {
  static std::string path;
  return path;
}

// One argument as the shell reads it back.
std::string shell_quoted(const std::string& arg) {
  const bool plain = !arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                           "0123456789_-+=/.,:@%") == std::string::npos;
  if (plain) return arg;
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// The command line that continues a stopped run: the same one, with --resume added for
// the commands that continue only when asked (teacher, distill).
std::string resume_command(int argc, char** argv, const CLI::App* command) {
  std::string line;
  for (int i = 0; i < argc; ++i) line += (i ? " " : "") + shell_quoted(argv[i]);
  const CLI::Option* resume = command->get_option_no_throw("--resume");
  if (resume && resume->count() == 0) line += " --resume";
  return line;
}

// The commands whose loops check for a stop (core/stop.h) and keep their work; the others
// (info, inspect, bench) keep the default: a signal ends them at once.
bool stops_at_a_step(const CLI::App* command) {
  if (!command) return false;
  for (const char* name : {"teacher", "distill", "baseline", "evaluate", "run", "probe"})
    if (command->get_name() == name) return true;
  return false;
}

// A stop: one line on stderr and in the command's log, exit 128 + signal.
int report_stop(const Stopped& stopped) {
  const std::string line = "ssdd: " + stopped.message();
  std::cerr << line << "\n";
  if (!stop_log().empty() && io::file_exists(stop_log())) io::RunLog(stop_log()).line(line);
  return stopped.exit_code();
}

// The command's exit code: 0, a stop's 128 + signal, or 1 with the error on stderr.
int run_action(const Action& action) {
  try {
    if (action) action();
    return 0;
  } catch (const Stopped& stopped) {
    return report_stop(stopped);
  } catch (const ExitCode& exit) {
    return exit.code;
  } catch (const ssdd::Error& e) {
    std::cerr << "ssdd: error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "ssdd: error (LibTorch): " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "ssdd: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

void set_stop_log(const std::string& path) { stop_log() = path; }

int run(int argc, char** argv) {
  keep_freed_memory();
  flush_denormals();
  CLI::App app{
      "ssdd: self-supervised dataset distillation (KRR-ST and Yu, Yao & Chiu, ICLR 2025).\n"
      "Compress an unlabeled image set into a few synthetic images plus target representations\n"
      "that pretrain a network nearly as well as the whole set.",
      "ssdd"};
  app.set_version_flag("--version", std::string("ssdd ") + SSDD_VERSION);
  app.require_subcommand(1);
  Action action;
  add_info_command(app, action);
  add_teacher_command(app, action);
  add_probe_command(app, action);
  add_distill_command(app, action);
  add_inspect_command(app, action);
  add_baseline_command(app, action);
  add_evaluate_command(app, action);
  add_run_command(app, action);
  add_bench_command(app, action);
  add_export_command(app, action);
  add_launch_command(app, action);
  add_collectives_command(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the reason of a usage error
    return code == 0 ? 0 : 2;
  }
  const CLI::App* command = app.get_subcommands().empty() ? nullptr : app.get_subcommands().front();
  if (stops_at_a_step(command)) {
    // The command's log, where its --out names it (`ssdd run` sets its default folder's).
    const CLI::Option* out = command->get_option_no_throw("--out");
    if (out && out->count() > 0) set_stop_log(out->as<std::string>() + "/log");
    install_stop_handlers(resume_command(argc, argv, command));
  }
  const int code = run_action(action);
  if (code != 0) train::leave_job_abruptly();  // a failing rank exits whatever the others do
  return code;
}

}  // namespace ssdd::cli
