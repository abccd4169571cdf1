#include <CLI/CLI.hpp>

#include <cstdio>

#include "ssdd/cli/commands.h"
#include "ssdd/cli/matmul_rate.h"
#include "ssdd/cli/overrides.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/teacher/step_bench.h"

namespace ssdd::cli {

// `ssdd bench teacher`: the teacher's training step, beside ../shared/bench/pytorch_teacher_step.py.
void add_bench_teacher_command(CLI::App& bench, Action& action) {
  auto* cmd = bench.add_subcommand(
      "teacher", "Time `ssdd teacher`'s training step (two augmented views, forward, loss, backward, update)");
  struct State {
    std::string preset = "cpu";
    teacher::TeacherBenchOptions o;
    Overrides<teacher::TeacherConfig> overrides;
    int64_t matmul_size = 4096;
    std::string json;
  };
  auto s = std::make_shared<State>();
  auto& o = s->o;
  using C = teacher::TeacherConfig;
  cmd->add_option("--preset", s->preset, "Teacher preset the step is taken from: cpu, quick or paper")
      ->capture_default_str();
  s->overrides.add(*cmd, "--arch", &C::arch, "Backbone spec (default: the preset's), e.g. resnet18:16");
  s->overrides.add(*cmd, "--projector", &C::projector, "Projector widths (default: the preset's)")->delimiter(',');
  s->overrides.add(*cmd, "--batch", &C::batch_size, "Images per batch (default: the preset's)");
  s->overrides.add(*cmd, "--optimizer", &C::optimizer, "lars or sgd (default: the preset's)");
  s->overrides.add(*cmd, "--crop-scale-min", &C::crop_scale_min, "Smallest crop area (default: the preset's)");
  s->overrides.add(*cmd, "--precision", &C::precision, "float32 or bfloat16 (autocast; default: the preset's)");
  cmd->add_option("--channels", o.channels, "Image channels: 1 or 3")->capture_default_str();
  cmd->add_option("--res", o.size, "Image side (square images)")->capture_default_str();
  cmd->add_option("--iters", o.iterations, "Timed steps (the median is reported)")->capture_default_str();
  cmd->add_option("--warmup", o.warmup, "Untimed steps first")->capture_default_str();
  cmd->add_flag("--phases", o.phases, "Also time each phase in a second pass (synchronises the device after each)");
  add_runtime_options(*cmd, o.runtime, "Seed of the synthetic images, the model and the views");
  cmd->add_option("--matmul-size", s->matmul_size, "Side of the matrix product that measures the rate (0: skip)")
      ->capture_default_str();
  cmd->add_option("--json", s->json, "Also write every figure (per-step times included) to this JSON file");
  cmd->callback([s, &action] {
    action = [s] {
      auto& o = s->o;
      o.config = teacher::teacher_preset(s->preset);
      s->overrides.apply(o.config);
      o.config.validate("command line");
      const double matmul = matrix_product_rate_first(o.runtime, s->matmul_size);
      const auto r = teacher::run_teacher_bench(o);
      nlohmann::json j = r.to_json();
      j["settings"]["preset"] = s->preset;
      if (matmul > 0) j["matmul_gflops"] = matmul;
      std::printf("teacher step, %s, %s, batch %lld, %lldx%lldx%lld, %d threads: step %.4f s (%.1f images/s), "
                  "augmentation %.4f s, both %.4f s (%.1f images/s)\n",
                  o.config.arch.c_str(), choice_name(o.config.precision).c_str(),
                  static_cast<long long>(o.config.batch_size), static_cast<long long>(o.channels),
                  static_cast<long long>(o.size), static_cast<long long>(o.size), r.threads, r.median_step,
                  r.images_per_second(r.median_step), r.median_augment, r.median_total,
                  r.images_per_second(r.median_total));
      if (o.phases) {
        std::printf("phases (median s):");
        for (const char* name : teacher::TeacherBenchResult::kPhaseNames)
          std::printf(" %s %.4f", name, r.phases.at(name).get<double>());
        std::printf("\n");
      }
      if (!s->json.empty()) io::write_file_atomic(s->json, j.dump(2) + "\n");
    };
  });
}

}  // namespace ssdd::cli
