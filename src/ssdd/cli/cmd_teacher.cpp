#include <CLI/CLI.hpp>

#include <iostream>

#include "ssdd/cli/commands.h"
#include "ssdd/cli/out_folder.h"
#include "ssdd/cli/overrides.h"
#include "ssdd/teacher/shipped.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/job.h"

namespace ssdd::cli {

void add_teacher_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("teacher", "Train a Barlow Twins teacher on a source data set and probe it");
  struct State {
    std::string preset = "cpu";
    std::string out;
    bool resume = false, force = false, retrain = false;
    Overrides<teacher::TeacherConfig> overrides;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("--preset", s->preset, "Starting configuration: cpu, quick or paper")->capture_default_str();
  cmd->add_option("--out", s->out, "Output folder (teacher.pt, teacher.json, metrics.json, log, loss.svg)");
  cmd->add_flag("--resume", s->resume, "Continue a killed run from its last checkpoint in --out");
  cmd->add_flag("--retrain", s->retrain, "Train even when a shipped teacher (teachers/) has this config's id");
  add_force_flag(*cmd, s->force);
  using C = teacher::TeacherConfig;
  auto& o = s->overrides;
  o.add(*cmd, "--data", &C::data, "Source data set (fashion-mnist, cifar10, cifar100, folder:PATH, ...)");
  o.add(*cmd, "--data-dir", &C::data_dir, "Folder holding the data set's files (overrides the default)");
  o.add(*cmd, "--resolution", &C::resolution, "Square side the data set is read at, resized once at load (0: its own size)")->check(CLI::Range(0, 16384));
  o.add(*cmd, "--arch", &C::arch, "Backbone spec, e.g. resnet18, resnet18:32, convnet:64-128-256:gap");
  o.add(*cmd, "--projector", &C::projector, "Projector widths, e.g. 2048 2048 2048")->delimiter(',');
  o.add(*cmd, "--lambda", &C::lambda, "Barlow Twins off-diagonal weight");
  o.add(*cmd, "--loss-scale", &C::loss_scale, "Factor on the Barlow Twins loss");
  o.add(*cmd, "--optimizer", &C::optimizer, "lars or sgd");
  o.add(*cmd, "--lr", &C::lr, "Learning rate per 256 images (scaled linearly with the batch)");
  o.add(*cmd, "--weight-decay", &C::weight_decay, "Weight decay");
  o.add(*cmd, "--lars-eta", &C::lars_eta, "LARS trust coefficient");
  o.add(*cmd, "--momentum", &C::momentum, "Momentum of LARS / SGD");
  o.add(*cmd, "--warmup-epochs", &C::warmup_epochs, "Linear warm-up epochs before the cosine decay");
  o.add(*cmd, "--epochs", &C::epochs, "Training epochs");
  o.add(*cmd, "--batch-size", &C::batch_size, "Images per batch");
  o.add(*cmd, "--crop-scale-min", &C::crop_scale_min, "Smallest area fraction of the random resized crop");
  o.add(*cmd, "--precision", &C::precision,
        "Arithmetic of the training step: float32, or bfloat16 (autocast: convolutions and matrix products in bf16, "
        "weights and optimiser fp32)");
  o.add(*cmd, "--probe-epochs", &C::probe_epochs, "Epochs of the linear probe after training");
  o.add(*cmd, "--probe-every", &C::probe_every,
        "Also probe every N epochs during training, for an accuracy-vs-time curve (0: only at the end)");
  o.add_runtime(*cmd);
  add_job_options(*cmd);
  cmd->footer(
      "Presets: cpu (2-core CPU, Fashion-MNIST), quick (smoke test), paper (ResNet18 on CIFAR-100, GPU).\n"
      "Under a launcher (ssdd launch, torchrun, SLURM) the ranks share every batch (data-parallel, batch\n"
      "norms over the whole batch): N ranks train the teacher one process trains, up to float rounding.\n"
      "A shipped teacher (teachers/, or the folders of $SSDD_TEACHERS) whose manifest carries this config's\n"
      "id (config hash + source data digest) is copied into --out instead of training, once its sha256 holds.");
  cmd->require_subcommand(0, 1);
  add_teacher_ship_command(*cmd, action);
  add_teacher_import_command(*cmd, action);
  cmd->callback([cmd, s, &action] {
    if (!cmd->get_subcommands().empty()) return;  // `ssdd teacher ship|import` set the action
    if (s->out.empty()) throw CLI::RequiredError("--out");
    action = [s] {
      teacher::TeacherConfig config = teacher::teacher_preset(s->preset);
      s->overrides.apply(config);
      config.validate("command line");
      if (train::job_world().rank == 0) claim_if_forced(s->out, "teacher", s->force);  // rank 0 owns the folder
      teacher::provide_teacher(config, s->out, s->resume, s->retrain);
    };
  });
}

void add_teacher_ship_command(CLI::App& teacher, Action& action) {
  auto* cmd = teacher.add_subcommand(
      "ship", "Pack a teacher ssdd trained into a shipped teacher: backbone weights (float32) and a manifest");
  struct State {
    std::string trained, out;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("trained", s->trained, "Folder of a trained teacher (teacher.pt, teacher.json, config.json, metrics.json)")
      ->required();
  cmd->add_option("--out", s->out, "New folder for the shipped teacher, e.g. teachers/fashion-mnist-cpu")->required();
  cmd->footer("The manifest records the data set, architecture, config and its hash, the teacher id, the probe\n"
              "accuracy, the command that trains it, its wall time, and teacher.pt's sha256 and size.");
  cmd->callback([s, &action] {
    action = [s] {
      teacher::ship_trained_teacher(s->trained, s->out);
      std::printf("%s/teacher.pt, teacher.json, manifest.json\n", s->out.c_str());
    };
  });
}

}  // namespace ssdd::cli
