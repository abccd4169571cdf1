// The `ssdd` command line: one function registers each subcommand on the CLI11 app.
// Subcommands only parse options, call the library and print; no algorithms here.
#pragma once
#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace ssdd::cli {

// Registers the subcommand; the returned action runs it after parsing.
using Action = std::function<void()>;
void add_info_command(CLI::App& app, Action& action);
void add_teacher_command(CLI::App& app, Action& action);
// `ssdd teacher ship` and `ssdd teacher import`, subcommands of `teacher`
// (cmd_teacher.cpp, cmd_teacher_import.cpp).
void add_teacher_ship_command(CLI::App& teacher, Action& action);
void add_teacher_import_command(CLI::App& teacher, Action& action);
void add_probe_command(CLI::App& app, Action& action);
void add_distill_command(CLI::App& app, Action& action);
void add_inspect_command(CLI::App& app, Action& action);
void add_baseline_command(CLI::App& app, Action& action);
void add_evaluate_command(CLI::App& app, Action& action);
void add_run_command(CLI::App& app, Action& action);
void add_bench_command(CLI::App& app, Action& action);
// Under `ssdd bench`: the teacher's step, an evaluation pretraining cell, a linear probe.
void add_bench_teacher_command(CLI::App& bench, Action& action);
void add_bench_pretrain_command(CLI::App& bench, Action& action);
void add_bench_probe_command(CLI::App& bench, Action& action);
void add_export_command(CLI::App& app, Action& action);
// `ssdd launch` (N local ranks of one job) and `ssdd collectives` (checks a job's process group).
void add_launch_command(CLI::App& app, Action& action);
void add_collectives_command(CLI::App& app, Action& action);

// Thrown by an action whose exit code is neither 0 nor 1 (`ssdd launch` returns its failed rank's).
struct ExitCode {
  int code;
};

// Parses argv and runs the chosen subcommand; returns the process exit code
// (0 ok, 1 a runtime error, 2 a usage error, 130 / 143 stopped by SIGINT / SIGTERM).
int run(int argc, char** argv);

// The log a stop's line is also written to (by default the command's --out/log).
void set_stop_log(const std::string& path);

}  // namespace ssdd::cli
