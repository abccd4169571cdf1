// `ssdd bench pretrain` and `ssdd bench probe`: the evaluation grid's cells, beside
// bench/pytorch_grid_cell.py (bench/compare-grid.sh runs both).
#include <CLI/CLI.hpp>

#include <cstdio>

#include "ssdd/cli/commands.h"
#include "ssdd/cli/matmul_rate.h"
#include "ssdd/cli/overrides.h"
#include "ssdd/evaluate/cell_bench.h"
#include "ssdd/io/atomic_file.h"

namespace ssdd::cli {

void add_bench_pretrain_command(CLI::App& bench, Action& action) {
  auto* cmd = bench.add_subcommand(
      "pretrain", "Time one evaluation pretraining cell (a fresh network regressing targets of synthetic pairs)");
  struct State {
    evaluate::PretrainBenchOptions o;
    int64_t matmul_size = 0;
    std::string json;
  };
  auto s = std::make_shared<State>();
  auto& o = s->o;
  cmd->add_option("--arch", o.arch, "Zoo spec of the network")->capture_default_str();
  cmd->add_option("--pairs", o.pairs, "(view, target) pairs of the set")->capture_default_str();
  cmd->add_option("--channels", o.channels, "Image channels")->capture_default_str();
  cmd->add_option("--res", o.size, "Image side (square images)")->capture_default_str();
  cmd->add_option("--dim", o.dim, "Target dimension d")->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Epochs over the pairs")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Pairs per step")->capture_default_str();
  add_setting(*cmd, "--precision", o.precision, "The forward's arithmetic: float32 (default) or bfloat16 (autocast)");
  add_runtime_options(*cmd, o.runtime, "Seed of the pairs and the network");
  cmd->add_option("--matmul-size", s->matmul_size, "Side of a matrix product that measures the rate first (0: skip)")
      ->capture_default_str();
  cmd->add_option("--json", s->json, "Also write the figures to this JSON file");
  cmd->callback([s, &action] {
    action = [s] {
      const double matmul = matrix_product_rate_first(s->o.runtime, s->matmul_size);
      const auto r = evaluate::run_pretrain_bench(s->o);
      std::printf("pretraining cell, %s, %s, %lld pairs, %d threads: %lld steps in %.2f s (%.4f s/step), "
                  "loss %.4f -> %.4f\n",
                  s->o.arch.c_str(), choice_name(s->o.precision).c_str(), static_cast<long long>(s->o.pairs),
                  r.threads, static_cast<long long>(r.steps),
                  r.seconds, r.seconds_per_step, r.first_loss, r.final_loss);
      if (r.gflop > 0) std::printf("  %.1f GFLOP, %.1f GFLOP/s\n", r.gflop, r.gflop / r.seconds);
      if (matmul > 0) std::printf("  fp32 matrix product %lldx%lld: %.1f GFLOP/s\n",
                                  static_cast<long long>(s->matmul_size), static_cast<long long>(s->matmul_size), matmul);
      auto j = r.to_json();
      if (matmul > 0) j["matmul_gflops"] = matmul;
      if (!s->json.empty()) io::write_file_atomic(s->json, j.dump(2) + "\n");
    };
  });
}

void add_bench_probe_command(CLI::App& bench, Action& action) {
  auto* cmd = bench.add_subcommand("probe", "Time one linear probe (a classifier fit on synthetic frozen features)");
  struct State {
    evaluate::ProbeBenchOptions o;
    std::string json;
  };
  auto s = std::make_shared<State>();
  auto& o = s->o;
  cmd->add_option("--train", o.train, "Train features")->capture_default_str();
  cmd->add_option("--test", o.test, "Test features")->capture_default_str();
  cmd->add_option("--features", o.features, "Feature dimension")->capture_default_str();
  cmd->add_option("--classes", o.classes, "Classes")->capture_default_str();
  cmd->add_option("--epochs", o.epochs, "Probe epochs")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Features per step")->capture_default_str();
  add_runtime_options(*cmd, o.runtime, "Seed of the features and the classifier");
  cmd->add_option("--json", s->json, "Also write the figures to this JSON file");
  cmd->callback([s, &action] {
    action = [s] {
      const auto r = evaluate::run_probe_bench(s->o);
      std::printf("linear probe, %lld x %lld features, %lld epochs, %d threads: %.2f s (%.4f s/epoch), test top-1 %.2f%%\n",
                  static_cast<long long>(s->o.train), static_cast<long long>(s->o.features),
                  static_cast<long long>(s->o.epochs), r.threads, r.seconds, r.seconds_per_epoch,
                  100 * r.test_accuracy);
      if (!s->json.empty()) io::write_file_atomic(s->json, r.to_json().dump(2) + "\n");
    };
  });
}

}  // namespace ssdd::cli
