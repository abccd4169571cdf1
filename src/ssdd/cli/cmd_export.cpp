#include <CLI/CLI.hpp>

#include <cstdio>

#include "ssdd/cli/commands.h"
#include "ssdd/cli/out_folder.h"
#include "ssdd/distill/set_export.h"

namespace ssdd::cli {

void add_export_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "export", "Write a distilled set's decoded training pairs, every view, for PyTorch (views.pt) and as PNG files");
  struct State {
    std::string set, out, format = "both";
    bool force = false;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("set", s->set, "A distilled.pt file (from `ssdd distill` or `ssdd baseline`)")->required();
  cmd->add_option("--out", s->out, "Output folder, new or empty (or an earlier export, which is replaced)")->required();
  cmd->add_option("--format", s->format, "pt (views.pt), png (images/ and targets.csv) or both")
      ->check(CLI::IsMember({"pt", "png", "both"}))
      ->capture_default_str();
  add_force_flag(*cmd, s->force);
  cmd->footer(
      "Rows are the pairs evaluation's pretraining trains on: every predefined view (e.g. rotation) of every image,\n"
      "view-major, with the view's target (decoded from bases and approximation networks where the set has them).\n"
      "  views.pt     torch.load(...) gives images (N x C x H x W float32, normalised), targets (N x d float32),\n"
      "               view and index (int64, N: the view and the set's row), mean and std (float32, C);\n"
      "               images * std[:, None, None] + mean[:, None, None] are [0, 1] pixels\n"
      "  images/      ROW-VIEW-iINDEX.png per row (denormalised), names sorting in row order\n"
      "  targets.csv  file,view,index,t0..t{d-1}, one line per PNG\n"
      "  export.json  source set, method, data set, views, counts, shape, normalisation, this command\n"
      "Written into a temporary folder beside --out and moved into place at the end: a stopped export leaves no\n"
      "partial --out.");
  cmd->callback([s, &action] {
    action = [s] {
      distill::ExportOptions options;
      options.tensors = s->format != "png";
      options.pngs = s->format != "pt";
      options.force = s->force;
      options.command = "ssdd export " + s->set + " --out " + s->out + " --format " + s->format +
                        (s->force ? " --force" : "");
      const auto r = distill::export_set(s->set, s->out, options);
      std::printf("exported %lld pairs (%lld images x %lld views, %lldx%lldx%lld, targets of %lld) from %s to %s:%s%s "
                  "export.json\n",
                  static_cast<long long>(r.rows), static_cast<long long>(r.images), static_cast<long long>(r.views),
                  static_cast<long long>(r.shape[0]), static_cast<long long>(r.shape[1]),
                  static_cast<long long>(r.shape[2]), static_cast<long long>(r.target_dim), s->set.c_str(),
                  s->out.c_str(), options.tensors ? " views.pt," : "",
                  options.pngs ? " images/ (one PNG per pair), targets.csv," : "");
    };
  });
}

}  // namespace ssdd::cli
