#include <CLI/CLI.hpp>

#include <cstdio>

#include "ssdd/cli/commands.h"
#include "ssdd/cli/out_folder.h"
#include "ssdd/cli/overrides.h"
#include "ssdd/cli/stage_config.h"
#include "ssdd/evaluate/baselines.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/io/json_file.h"
#include "ssdd/train/job.h"

namespace ssdd::cli {

void add_baseline_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "baseline", "Make a real-image baseline set (random, kmeans or random-rot) in the distilled-set file format");
  auto c = std::make_shared<evaluate::BaselineConfig>();
  auto out = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  add_setting(*cmd, "method", c->method,
              "random (N images drawn at random), kmeans (nearest to k-means centroids) or random-rot (random's "
              "images with every view's teacher target stored: a control for ours' views)")
      ->required();
  cmd->add_option("--teacher", c->teacher, "Teacher folder (its representations are the targets)")->required();
  cmd->add_option("--budget", c->budget, "Number of images N")->capture_default_str();
  cmd->add_option("--out", *out, "Output folder (distilled.pt, images.png, log)")->required();
  add_force_flag(*cmd, *force);
  cmd->add_option("--data", c->data, "Source data set (default: the teacher's)");
  cmd->add_option("--data-dir", c->data_dir, "Folder holding the data set's files");
  cmd->add_option("--resolution", c->resolution, "Square side the data set is read at, resized once at load (0: its own size, or the teacher's)")
      ->check(CLI::Range(0, 16384));
  cmd->add_option("--iterations", c->kmeans_iterations, "Lloyd iterations of kmeans")->capture_default_str();
  cmd->add_option("--views", c->views, "random-rot: the views whose targets are stored")->capture_default_str();
  cmd->add_flag("--count-targets", c->count_targets,
                "Storage-equal: count the targets against the budget too (fewer images); default: KRR-ST's count, images only");
  add_runtime_options(*cmd, c->runtime, "Random seed");
  cmd->callback([c, out, force, &action] {
    action = [c, out, force] {
      c->validate("command line");
      claim_if_forced(*out, "baseline", *force);
      const auto r = evaluate::make_baseline(*c, *out);
      std::printf("%s: %lld images -> %s/distilled.pt (%.1f s)\n", choice_name(c->method).c_str(),
                  static_cast<long long>(r.indices.numel()), out->c_str(), r.seconds);
    };
  });
}

// The grid's settings as options over the preset or --config (every one recorded in config.json).
void add_grid_options(CLI::App& cmd, Overrides<evaluate::GridConfig>& o) {
  using C = evaluate::GridConfig;
  using Pretrain = evaluate::PretrainSchedule;
  using Probe = evaluate::GridProbeOptions;
  using Finetune = evaluate::GridFinetuneOptions;
  o.add(cmd, "--distilled", &C::distilled, "Distilled sets, comma-separated, each FILE or LABEL=FILE")
      ->delimiter(',');
  o.add(cmd, "--teacher", &C::teacher, "Teacher folder (teacher row and alignment diagnostics)");
  o.add(cmd, "--arch", &C::archs, "Architectures, comma-separated zoo specs (first one: the main table)")
      ->delimiter(',');
  o.add(cmd, "--targets", &C::targets, "Target data sets, comma-separated: source, registry names, NAME=DIR")
      ->delimiter(',');
  o.add(cmd, "--seeds", &C::seeds,
        "Seeds per cell (seed .. seed + S - 1; --seed is the first): mean and std over them");
  o.add(cmd, "--pretrain-epochs", &C::pretrain, &Pretrain::epochs, "Pretraining epochs (paper: 1000)");
  o.add(cmd, "--pretrain-steps", &C::pretrain, &Pretrain::steps,
        "Pretrain every set for exactly this many SGD steps instead (equal compute; 0: epochs)");
  o.add(cmd, "--pretrain-batch", &C::pretrain, &Pretrain::batch_size, "Pretraining mini-batch");
  o.add(cmd, "--pretrain-lr", &C::pretrain, &Pretrain::lr, "Pretraining SGD learning rate (constant)");
  o.add(cmd, "--weight-decay", &C::pretrain, &Pretrain::weight_decay, "Pretraining weight decay");
  o.add(cmd, "--pretrain-precision", &C::pretrain, &Pretrain::precision,
        "Pretraining's forward: float32 or bfloat16 (autocast; weights, features and probes stay fp32)");
  o.add(cmd, "--probe-epochs", &C::probe, &Probe::epochs, "Linear-probe epochs");
  o.add(cmd, "--probe-max-train", &C::probe, &Probe::max_train, "Fit probes on this many train images (0: all)");
  o.add(cmd, "--probes", &C::probe, &Probe::protocols,
        "Probe protocols, comma-separated: standardized, krrst (KRR-ST's); first: headline")
      ->delimiter(',');
  o.add(cmd, "--probe-steps", &C::probe, &Probe::steps,
        "Every probe trains this many SGD steps (0: each protocol's own)");
  o.add(cmd, "--finetune", &C::finetune, &Finetune::enabled,
        "Also fine-tune every network fully on each target, own table (true/false)");
  o.add(cmd, "--finetune-protocol", &C::finetune, &Finetune::protocol,
        "ssdd (finetune-epochs, no augmentation) or krrst (10,000 steps, crop + flip)");
  o.add(cmd, "--finetune-epochs", &C::finetune, &Finetune::epochs, "Fine-tuning epochs over the target's train split");
  o.add(cmd, "--finetune-lr", &C::finetune, &Finetune::lr, "Fine-tuning SGD learning rate (cosine; KRR-ST: 0.01)");
  o.add(cmd, "--teacher-row", &C::teacher_row, "Include the teacher row (true/false)");
  o.add(cmd, "--none-row", &C::none_row, "Include the random-weights row (true/false)");
  o.add(cmd, "--alignment", &C::alignment, "Teacher-alignment diagnostics on the source (true/false)");
  o.add(cmd, "--data-dir", &C::data_dir, "Folder holding the source data set's files");
  o.add(cmd, "--resolution", &C::resolution,
        "Square side the source is read at (0: its own, or the sets'); other targets follow the sets' size")
      ->check(CLI::Range(0, 16384));
  o.add_runtime(cmd, "The first seed (the grid runs seeds seed .. seed + seeds - 1)");
  o.add(cmd, "--verbose", &C::verbose, "Show pretraining progress (true/false)");
}

void add_evaluate_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "evaluate", "Pretrain fresh networks on distilled sets and linear-probe them, beside teacher and none");
  struct State {
    std::string preset = "cpu";
    std::string out, config_file;
    bool force = false;
    Overrides<evaluate::GridConfig> overrides;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("--preset", s->preset, "Starting configuration: cpu, quick or paper")
      ->capture_default_str()
      ->check(CLI::IsMember(evaluate::grid_presets()));
  cmd->add_option("--out", s->out, "Output folder (cells.jsonl, results.json/md/png, models/, log); rerun to resume")
      ->required();
  add_force_flag(*cmd, s->force);
  cmd->add_option("--config", s->config_file, "A JSON config (e.g. a run's config.json) instead of a preset")
      ->check(CLI::ExistingFile);
  add_grid_options(*cmd, s->overrides);
  add_job_options(*cmd);
  cmd->footer(evaluate::grid_presets_help() +
              "\nSeveral ranks (`ssdd launch -n N -- evaluate ...`, torchrun, srun) share the cells out: each takes the\n"
              "next set x arch x seed when it is free; rank 0 writes the results. Give each rank its share of the\n"
              "cores (--threads).");
  cmd->callback([s, cmd, &action] {
    // --pretrain-epochs alone asks for the epochs protocol, whatever steps the preset set.
    const bool epochs_protocol = cmd->count("--pretrain-epochs") > 0 && cmd->count("--pretrain-steps") == 0;
    action = [s, epochs_protocol] {
      evaluate::GridConfig config = s->config_file.empty()
                                        ? evaluate::grid_preset(s->preset)
                                        : evaluate::GridConfig::from_json(read_stage_config(s->config_file));
      s->overrides.apply(config);
      if (epochs_protocol) config.pretrain.steps = 0;
      config.validate("command line");
      if (train::job_world().rank == 0) claim_if_forced(s->out, "evaluate", s->force);  // rank 0 owns the folder
      const auto r = evaluate::run_grid(config, s->out);
      if (train::job_world().rank != 0) return;  // rank 0 prints the job's table
      std::printf("%s\n%lld cells run, %lld reused; %s/results.md\n", evaluate::results_markdown(r.results).c_str(),
                  static_cast<long long>(r.cells_run), static_cast<long long>(r.cells_skipped), s->out.c_str());
    };
  });
}

}  // namespace ssdd::cli
