#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>

#include "ssdd/cli/commands.h"
#include "ssdd/cli/out_folder.h"
#include "ssdd/cli/overrides.h"
#include "ssdd/cli/stage_config.h"
#include "ssdd/core/error.h"
#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/data/registry.h"
#include "ssdd/distill/approximation_check.h"
#include "ssdd/distill/distiller.h"
#include "ssdd/distill/set_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/models/image_shape.h"

namespace ssdd::cli {

namespace {

// The inner models' options (distill::PoolOptions).
void add_pool_options(CLI::App& cmd, Overrides<distill::DistillConfig>& o) {
  using C = distill::DistillConfig;
  using Pool = distill::PoolOptions;
  o.add(cmd, "--pool-arch", &C::pool, &Pool::arch, "Inner model spec, e.g. convnet:64-64-64");
  o.add(cmd, "--pool-size", &C::pool, &Pool::size, "Models in the pool (M)");
  o.add(cmd, "--pool-steps", &C::pool, &Pool::max_steps, "Steps before a pool model is reset (Z)");
  o.add(cmd, "--pool-shards", &C::pool, &Pool::shards,
        "Pool models per outer step, each on its slice of the real batch, gradients averaged (S); the ranks of a "
        "job (ssdd launch, torchrun) share them, so any world size up to S gives the same set");
}

}  // namespace

void add_distill_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("distill", "Distil a source data set into a small synthetic set (ours or krrst)");
  struct State {
    std::string preset = "cpu";
    std::string out, config_file;
    bool resume = false, force = false;
    Overrides<distill::DistillConfig> overrides;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("--preset", s->preset, "Starting configuration: cpu, quick or paper")->capture_default_str();
  cmd->add_option("--out", s->out, "Output folder (distilled.pt, metrics.json, loss.csv/svg, images.png, log)")
      ->required();
  cmd->add_flag("--resume", s->resume, "Continue a killed run from its last checkpoint in --out");
  add_force_flag(*cmd, s->force);
  cmd->add_option("--config", s->config_file, "A JSON config (e.g. a run's config.json) instead of a preset")
      ->check(CLI::ExistingFile);
  using C = distill::DistillConfig;
  auto& o = s->overrides;
  using Param = distill::ParameterizationOptions;
  using Approx = distill::ApproximationOptions;
  o.add(*cmd, "--teacher", &C::teacher, "Teacher folder (from `ssdd teacher`)");
  o.add(*cmd, "--method", &C::method, "ours (the paper) or krrst (the prior work)");
  o.add(*cmd, "--data", &C::data, "Source data set (default: the teacher's)");
  o.add(*cmd, "--data-dir", &C::data_dir, "Folder holding the data set's files");
  o.add(*cmd, "--resolution", &C::resolution,
        "Square side the data set is read at, resized once at load (0: its own size) or the teacher's)")
      ->check(CLI::Range(0, 16384));
  o.add(*cmd, "--budget", &C::budget, "Storage budget N, in images");
  o.add(*cmd, "--iterations", &C::iterations, "Outer iterations");
  o.add(*cmd, "--real-batch", &C::real_batch, "Real images per outer step (before views)");
  o.add(*cmd, "--lr", &C::lr, "AdamW learning rate of the distilled parameters (linear decay)");
  o.add(*cmd, "--ridge", &C::ridge, "KRR ridge: lambda = ridge * trace(K_ss)");
  o.add(*cmd, "--krr-precision", &C::krr_precision,
        "Type of the kernels, their Cholesky factor and the solve: float32, or float64 for kernels with more rows "
        "than features (the log warns)");
  o.add(*cmd, "--real-augment", &C::real_augment, "krrst's real batch: crop-flip (KRR-ST) or none (cached targets)");
  o.add(*cmd, "--views", &C::views, "Predefined views of `ours`, e.g. rot0,rot90,rot180,rot270 or none");
  o.add(*cmd, "--image-bases", &C::parameterization, &Param::image_bases, "Image bases k_x (ours)");
  o.add(*cmd, "--rep-bases", &C::parameterization, &Param::rep_bases, "Representation bases k_y (ours)");
  o.add(*cmd, "--base-scale", &C::parameterization, &Param::base_scale, "Image bases stored at H/s x W/s (ours)");
  o.add(*cmd, "--approx-hidden", &C::approximation, &Approx::hidden,
        "Hidden width of each approximation network (ours)");
  o.add(*cmd, "--approximation", &C::approximation, &Approx::enabled,
        "Use approximation networks (false: store every view's targets)");
  o.add(*cmd, "--approx-fit", &C::approximation, &Approx::fit,
        "When the approximation networks learn: after (fitted to the learned per-view targets at the end, the "
        "paper's order) or joint (trained with the set, then re-fitted)");
  o.add(*cmd, "--approx-fit-steps", &C::approximation, &Approx::fit_steps,
        "Adam steps of the approximation networks' fit (joint: the "
        "pre-fit on real images; after: the final fit)");
  o.add(*cmd, "--approx-refit-steps", &C::approximation, &Approx::refit_steps,
        "joint only: re-fit steps of the approximation networks on the teacher's view of the final images (0: off)");
  o.add(*cmd, "--random-bases", &C::parameterization, &Param::random_bases,
        "Ablation: random orthonormal bases instead of PCA");
  o.add(*cmd, "--parameterization", &C::parameterization, &Param::enabled,
        "Bases + coefficients (false, ablation: free images and targets within the same budget)");
  o.add(*cmd, "--augmentation", &C::augmentation,
        "predefined: every view each step; random (ablation): one view per image drawn each step");
  o.add(*cmd, "--pca-pool", &C::parameterization, &Param::pca_pool, "Real images the PCA bases are fitted on (ours)");
  add_pool_options(*cmd, o);
  o.add(*cmd, "--checkpoint-every", &C::checkpoint_every, "Iterations between checkpoints");
  o.add_runtime(*cmd);
  add_job_options(*cmd);
  cmd->footer("Presets: cpu (Fashion-MNIST, budget 100, 2 cores), quick (smoke test), paper (CIFAR-100, GPU).");
  cmd->callback([s, &action] {
    action = [s] {
      distill::DistillConfig config =
          s->config_file.empty()
              ? distill::distill_preset(s->preset)
              : distill::DistillConfig::from_json(read_stage_config(s->config_file));
      s->overrides.apply(config);
      config.validate("command line");
      if (train::job_world().rank == 0) claim_if_forced(s->out, "distill", s->force);  // rank 0 owns the folder
      distill::run_distill(config, s->out, s->resume);
    };
  });
}

void add_inspect_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("inspect", "Print a distilled set's metadata and storage breakdown");
  struct State {
    std::string path, teacher, data_dir, device = "cpu";
    int64_t images = 2000;
    int threads = 0;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("file", s->path, "A distilled.pt file")->required();
  cmd->add_option("--teacher", s->teacher,
                  "Also score the set's approximation networks on held-out images of its source against this "
                  "teacher (the one it was distilled with): R^2 per view, beside no shift and the basis' ceiling");
  cmd->add_option("--heldout-images", s->images, "Held-out images for --teacher (the first of the test split)")
      ->capture_default_str();
  cmd->add_option("--data-dir", s->data_dir, "Folder holding the source data set's files");
  cmd->add_option("--threads", s->threads, "CPU threads (0 = all cores)");
  cmd->add_option("--device", s->device, "cpu or cuda[:N]")->capture_default_str();
  cmd->callback([s, &action] {
    action = [s] {
      check_at_least("command line", "heldout-images", s->images, 1);
      const distill::SetFile set = distill::read_set_file(s->path);
      std::printf("%s\n", set.meta.dump(2).c_str());
      std::printf("images m = %lld, views %lld\n%s", static_cast<long long>(set.images),
                  static_cast<long long>(set.views), set.storage_table.c_str());
      if (s->teacher.empty()) return;
      if (!set.approximation) {
        std::printf("no approximation networks to score\n");
        return;
      }
      set_threads(s->threads);
      const c10::Device device = parse_device(s->device);
      const teacher::Teacher t = teacher::load_teacher(s->teacher, device);
      if (set.meta.value("teacher_id", t.id) != t.id)
        throw ConfigError("--teacher", "the set was distilled with teacher " + set.meta.value("teacher_id", "") +
                                           ", this folder holds " + t.id);
      data::LoadOptions load;
      load.data_dir = s->data_dir;
      const std::string data = set.meta.value("data", t.data);
      const auto splits = data::load_dataset_for(data, load, t.shape.channels, t.shape.height, t.shape.width);  // at the teacher's size
      models::check_image_shape("--data-dir", data + " holds", models::shape_of_images(splits.test.images),
                                "the teacher in " + s->teacher + " takes", t.shape);
      // The set stays on the CPU: only the teacher runs on the device.
      const auto checks = distill::check_approximation_heldout(s->path, t, data, splits.test, device, s->images);
      std::printf("approximation networks on %lld held-out %s images, R^2 to the teacher per view "
                  "(networks / no shift / basis ceiling / networks in sample): %s\n",
                  static_cast<long long>(std::min(s->images, splits.test.size())), data.c_str(),
                  distill::summary_line(checks).c_str());
    };
  });
}

}  // namespace ssdd::cli
