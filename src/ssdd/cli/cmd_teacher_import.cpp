#include <CLI/CLI.hpp>

#include "ssdd/cli/commands.h"
#include "ssdd/cli/out_folder.h"
#include "ssdd/core/runtime.h"
#include "ssdd/teacher/import.h"

namespace ssdd::cli {

void add_teacher_import_command(CLI::App& teacher, Action& action) {
  auto* cmd = teacher.add_subcommand(
      "import", "Import a ResNet18 backbone from a PyTorch file (torchvision state_dict, or a solo-learn / Lightning "
                "checkpoint with backbone.* keys) as a teacher, and probe it once");
  struct State {
    std::string file, out, arch;
    std::string data, data_dir;
    int64_t probe_epochs = 30;
    int64_t stem_padding = 0;
    int threads = 0;
    bool force = false;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("FILE", s->file, "The file torch.save wrote")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", s->out, "Teacher folder to write (teacher.pt, teacher.json, manifest.json, log)")
      ->required();
  cmd->add_option("--data", s->data, "The data set the backbone reads (normalisation, input size, probe), e.g. cifar10")
      ->required();
  cmd->add_option("--data-dir", s->data_dir, "Folder holding the data set's files (overrides the default)");
  cmd->add_option("--arch", s->arch, "A resnet18 spec to force (default: read from conv1.weight), e.g. resnet18:64:cifar");
  cmd->add_option("--stem-padding", s->stem_padding,
                  "Padding of a 3x3 (CIFAR) stem, which the weights cannot show: 1 or 2 (0: 2 for backbone.* keys, "
                  "solo-learn's, else 1)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{2}));
  cmd->add_option("--probe-epochs", s->probe_epochs, "Epochs of the linear probe (0: no probe)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{10000}));
  cmd->add_option("--threads", s->threads, "CPU threads (0 = all cores)")->capture_default_str();
  add_force_flag(*cmd, s->force);
  cmd->footer("Only the backbone is kept: a classifier head (fc.*) and a projector are dropped. The teacher's id is\n"
              "import- and 16 hex digits hashing FILE's sha256 and the arch; manifest.json records the source and the probe.");
  cmd->callback([s, &action] {
    action = [s] {
      set_threads(s->threads);
      teacher::ImportOptions options;
      options.data = s->data;
      options.data_dir = s->data_dir;
      options.arch = s->arch;
      options.stem_padding = s->stem_padding;
      options.probe_epochs = s->probe_epochs;
      options.force = s->force;
      options.command = "ssdd teacher import " + s->file + " --out " + s->out + " --data " + s->data +
                        (s->data_dir.empty() ? "" : " --data-dir " + s->data_dir) +
                        (s->arch.empty() ? "" : " --arch " + s->arch) +
                        (s->stem_padding == 0 ? "" : " --stem-padding " + std::to_string(s->stem_padding)) +
                        " --probe-epochs " + std::to_string(s->probe_epochs);
      teacher::import_teacher(s->file, s->out, options);
    };
  });
}

}  // namespace ssdd::cli
