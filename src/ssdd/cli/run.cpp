#include <CLI/CLI.hpp>

#include <iostream>

#include "ssdd/cli/commands.h"
#include "ssdd/core/error.h"
#include "ssdd/core/runtime.h"

namespace ssdd::cli {

int run(int argc, char** argv) {
  keep_freed_memory();
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the reason of a usage error
    return code == 0 ? 0 : 2;
  }
  try {
    if (action) action();
    return 0;
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

}  // namespace ssdd::cli
