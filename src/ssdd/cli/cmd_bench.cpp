#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>

#include "ssdd/cli/commands.h"
#include "ssdd/cli/overrides.h"
#include "ssdd/core/error.h"
#include "ssdd/core/runtime.h"
#include "ssdd/distill/memory_estimate.h"
#include "ssdd/distill/step_bench.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/measure/memory.h"
#include "ssdd/models/zoo.h"

namespace ssdd::cli {
namespace {

// "128,256,512", "128-256-512" or "64x3": read by the architecture parser of the zoo.
std::vector<int64_t> parse_widths(const std::string& text) {
  std::string spec = text;
  std::replace(spec.begin(), spec.end(), ',', '-');
  try {
    return models::parse_arch_spec("convnet:" + spec).options.widths;
  } catch (const ConfigError& e) {
    throw ConfigError("--widths", "expected widths like 128,256,512 or 64x3, found '" + text + "' (" + e.what() + ")");
  }
}

// The benchmark's peak memory, checked before its tensors are made: `--m 100000` would ask
// for a 40 GB kernel. (Counts below 1 are refused by the benchmark itself.)
void check_bench_memory(const distill::StepBenchOptions& o) {
  const distill::StepShape& s = o.shape;
  if (s.widths.empty()) return;
  std::string arch = "convnet:";
  for (size_t i = 0; i < s.widths.size(); ++i) arch += (i ? "-" : "") + std::to_string(s.widths[i]);
  distill::DistillShape shape;
  shape.image = {s.channels, s.height, s.width};
  shape.views = s.views;
  shape.distilled = s.distilled;
  shape.real_batch = s.real;
  shape.rep_dim = s.rep_dim;
  shape.pool_arch = arch + ":" + o.norm;
  shape.images_flag = "--m";
  shape.batch_flag = "--batch";
  measure::MemoryEstimate estimate = distill::distill_memory(shape, "bench");
  const double bank = 4.0 * static_cast<double>(s.real);  // synthetic real images and a target per view
  estimate.add("real bank " + std::to_string(static_cast<long long>(bank)) + " images",
               4 * bank * static_cast<double>(s.channels * s.height * s.width + s.views * s.rep_dim), "lower --batch");
  const double side = static_cast<double>(o.matmul_size > 0 ? o.matmul_size : 4096);
  estimate.add("matrix-product probe", 3 * side * side * 4, "lower --matmul-size");
  measure::check_memory(estimate, parse_device(o.runtime.device));
}

}  // namespace

void add_bench_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "bench", "Time the distillation iteration (outer step + inner step) on synthetic data and print a table row");
  struct State {
    distill::StepBenchOptions o;
    std::string widths;
    int64_t width = 64, depth = 3;
    std::string json;
    bool header = false;
  };
  auto s = std::make_shared<State>();
  auto& o = s->o;
  cmd->add_option("--m", o.shape.distilled, "Distilled images")->capture_default_str();
  cmd->add_option("--batch", o.shape.real, "Real images per outer step")->capture_default_str();
  cmd->add_option("--res", o.shape.height, "Image side (square images)")->capture_default_str();
  cmd->add_option("--channels", o.shape.channels, "Image channels")->capture_default_str();
  cmd->add_option("--width", s->width, "ConvNet block width (with --depth)")->capture_default_str();
  cmd->add_option("--depth", s->depth, "ConvNet blocks (with --width)")->capture_default_str();
  cmd->add_option("--widths", s->widths, "Block widths, e.g. 128,256,512 or 64x3 (overrides --width/--depth)");
  cmd->add_option("--norm", o.norm, "ConvNet normalisation: batch, instance or none")->capture_default_str();
  cmd->add_option("--dim", o.shape.rep_dim, "Teacher representation dimension d")->capture_default_str();
  cmd->add_option("--rotations", o.shape.views, "Predefined views: 1 (none) to 4 (0/90/180/270 degrees)")
      ->capture_default_str();
  cmd->add_option("--ridge", o.ridge, "Ridge factor (lambda = ridge * trace K_ss)")->capture_default_str();
  cmd->add_option("--iters", o.iterations, "Timed iterations (the median is reported)")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Untimed iterations first")->capture_default_str();
  cmd->add_flag("--phases", o.phases, "Also time each phase (synchronises the device after each)");
  cmd->add_option("--matmul-size", o.matmul_size, "Side of the matrix product that measures the rate (0: auto)")
      ->capture_default_str();
  add_runtime_options(*cmd, o.runtime, "Seed of the synthetic tensors and the model");
  cmd->add_flag("--header", s->header, "Print the table's header before the row");
  cmd->add_option("--json", s->json, "Also write every figure (per-iteration times included) to this JSON file");
  cmd->require_subcommand(0, 1);
  add_bench_teacher_command(*cmd, action);
  add_bench_pretrain_command(*cmd, action);
  add_bench_probe_command(*cmd, action);
  cmd->callback([cmd, s, &action] {
    if (!cmd->get_subcommands().empty()) return;  // `ssdd bench teacher|pretrain|probe` set the action
    action = [s] {
      auto& o = s->o;
      o.shape.width = o.shape.height;
      o.shape.widths = s->widths.empty() ? std::vector<int64_t>(static_cast<size_t>(std::max<int64_t>(s->depth, 0)), s->width)
                                         : parse_widths(s->widths);
      check_bench_memory(o);
      const auto r = distill::run_step_bench(o);
      if (s->header) std::printf("%s\n", distill::StepBenchResult::markdown_header().c_str());
      std::printf("%s\n", r.markdown_row().c_str());
      if (o.phases) {
        std::printf("phases (median s):");
        for (const char* name : {"real_forward", "distilled_forward", "regression", "backward_update", "inner_step"})
          std::printf(" %s %.4f", name, r.phases.at(name).get<double>());
        std::printf("\n");
      }
      if (!s->json.empty()) io::write_file_atomic(s->json, r.to_json().dump(2) + "\n");
    };
  });
}

}  // namespace ssdd::cli
