// `ssdd teacher import`: a ResNet18 backbone trained elsewhere (a torchvision state_dict, or
// a solo-learn / PyTorch Lightning checkpoint holding one under "backbone.") mapped by name
// onto the zoo's ResNet18 and written as a backbone-only teacher folder
// (teacher/backbone_teacher.h), probed once, with its manifest.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ssdd/models/encoder.h"

namespace ssdd::teacher {

// The backbone found in a file, before anything is written.
struct MappedBackbone {
  models::Encoder encoder;           // the zoo's ResNet18 holding the file's weights, eval mode
  std::string arch;                  // canonical spec, e.g. "resnet18:64:cifar"
  int64_t channels = 3;              // input channels (conv1.weight's second dimension)
  std::string format;                // "torchvision state_dict", "lightning checkpoint (backbone.)", ...
  std::vector<std::string> dropped;  // key prefixes left out: "fc.", "projector.", ...
};

// Maps the tensors of `path` (io::load_tensors_anywhere) onto resnet18: torchvision names,
// "downsample" read as the zoo's "shortcut"; width, stem (conv1's kernel: 7 ImageNet, 3
// CIFAR) and input channels from conv1.weight, unless `force_arch` (a resnet18 spec) says.
// A classifier head (fc.) and whatever lies beside the backbone (projector., classifier.)
// are dropped. DataError naming the file with the missing, unexpected and mis-shaped keys
// (ten of each, then a count) otherwise: another architecture gets that one line.
// A 3x3 (CIFAR) stem's padding does not show in its weights: `stem_padding` 1 or 2, or 0
// for 2 under a "backbone." prefix (solo-learn's layout, whose CIFAR stem pads 2) and 1
// otherwise.
MappedBackbone map_resnet18_backbone(const std::string& path, const std::string& force_arch = "",
                                     int64_t stem_padding = 0);

struct ImportOptions {
  std::string data;           // registry name of the data set the backbone reads (normalisation, shape, probe)
  std::string data_dir;
  std::string arch;           // a resnet18 spec to force; empty: read from the weights
  int64_t stem_padding = 0;   // a 3x3 stem's padding, 1 or 2; 0: by the file's layout (map_resnet18_backbone)
  int64_t probe_epochs = 30;  // 0: no probe (the manifest then has no probe fields)
  uint64_t seed = 0;
  bool force = false;         // --force: write into a non-empty folder ssdd did not make
  std::string command;        // the command line, for the manifest
};

struct ImportResult {
  std::string id;    // "import-" + 16 hex digits hashing the file's sha256 and the arch it maps onto
  std::string arch;
  double probe_test_accuracy = 0;
  double probe_train_accuracy = 0;
};

// Maps, loads the data set, probes, and only then writes out_dir: teacher.pt, teacher.json,
// manifest.json (nothing is written when the file does not map).
ImportResult import_teacher(const std::string& file, const std::string& out_dir, const ImportOptions& options);

}  // namespace ssdd::teacher
