// `ssdd teacher`: train a self-supervised encoder (Barlow Twins) on a source data set,
// probe it linearly, and write a teacher folder every later stage can load.
//
// Teacher folder:
//   teacher.pt      backbone.* and projector.* weights (torch.load gives a dict)
//   teacher.json    architecture spec, input shape, normalisation, feature dim, config hash,
//                   and the digest of teacher.pt's weights (checked on load)
//   config.json     the full configuration; log; metrics.json; loss.svg (chart)
//   probe.svg       probe accuracy against training time (with probe_every)
//   checkpoints/    for --resume
#pragma once
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "ssdd/core/choice.h"
#include "ssdd/core/config_json.h"
#include "ssdd/core/runtime_options.h"
#include "ssdd/data/dataset.h"
#include "ssdd/models/encoder.h"
#include "ssdd/train/precision.h"

namespace ssdd::teacher {

enum class Optimizer { lars, sgd };  // core/choice.h
const ChoiceNames<Optimizer>& choice_names(Optimizer);
SSDD_CHOICE_JSON(Optimizer)

// A ConvNet backbone's fused CPU kernels are fp32-only: under bfloat16 (train/precision.h) its
// bf16 activations take LibTorch's ops, and a block whose input is still fp32 (the first, on
// grey images) stays fp32.
using train::Precision;

struct TeacherConfig {
  std::string data = "fashion-mnist";  // registry name
  std::string data_dir;                // override of the registry's default folder
  int resolution = 0;                  // square side the data is read at; 0: its own (data/resolution_option.h)
  std::string arch = "resnet18";       // zoo spec, e.g. "resnet18:32", "convnet:64-128-256:gap"
  std::vector<int64_t> projector = {2048, 2048, 2048};
  double lambda = 0.0051;              // off-diagonal weight
  double loss_scale = 0.1;             // solo-learn's CIFAR setting
  Optimizer optimizer = Optimizer::lars;
  double lr = 0.3;                     // per 256 images; scaled linearly with the batch
  double weight_decay = 1e-4;
  double lars_eta = 0.02;
  double momentum = 0.9;
  int64_t warmup_epochs = 2;
  int64_t epochs = 20;
  int64_t batch_size = 256;
  double crop_scale_min = 0.2;         // random resized crop's smallest area fraction
  Precision precision = Precision::float32;  // enters JSON and the hash only when not float32
  int64_t probe_epochs = 30;
  // Also probe every this many epochs during training (0: only at the end), for the
  // accuracy-against-training-time curve of a recipe (metrics.json "probe_curve",
  // probe.svg). Probing time is not counted as training time; the weights do not change.
  int64_t probe_every = 0;
  RuntimeOptions runtime;

  // Flat in JSON: "seed", "threads", "device" (core/config_json.h).
  static std::vector<ConfigPart> json_parts() { return {{"runtime", ""}}; }

  nlohmann::json to_json() const;
  // Unknown keys and bad values -> ConfigError naming `where` (the file and section).
  static TeacherConfig from_json(const nlohmann::json& j, const std::string& where = "teacher config");
  // Counts in range (from_json calls it; so does the CLI after its overrides): ConfigError
  // naming `where`, the key, the range and the value found.
  void validate(const std::string& where) const;
  std::string hash() const;  // of everything that changes the weights (not threads/device)
};

// The teacher's id (teacher.json "id", its cache folder's name, every later stage's key):
// the config hash and the digest of the source data's content (data/identity.h), so other
// images under the same data-set name make another teacher. Loads the data set (through
// the decoded-data cache) unless `data_digest` is given.
std::string teacher_id(const TeacherConfig& config, const std::string& data_digest = "");

// Named presets: "cpu" (2-core CPU budget), "quick" (smoke test), "paper" (GPU).
TeacherConfig teacher_preset(const std::string& name);
std::vector<std::string> teacher_presets();

struct TeacherResult {
  double probe_test_accuracy = 0;
  double probe_train_accuracy = 0;
  double images_per_second = 0;
  double train_seconds = 0;
};

// Trains (resuming from out_dir/checkpoints when `resume` and one is there), probes,
// and writes the teacher folder.
TeacherResult train_teacher(const TeacherConfig& config, const std::string& out_dir, bool resume);

// A trained teacher, ready to compute representations.
struct Teacher {
  models::Encoder encoder;  // eval mode, on the requested device
  std::string arch;
  models::ImageShape shape;
  data::Normalization norm;
  std::string data;
  std::string id;           // config hash
  std::string dir;          // the folder it was loaded from (its representation cache lives there)
  // io::content_checksum of teacher.pt's tensors, as recorded in teacher.json ("weights_digest")
  // and checked by load_teacher; empty for a folder written before digests were recorded.
  std::string weights_digest;
  int64_t feature_dim = 0;
};

// DataError naming teacher.pt when its weights do not match teacher.json's digest (another
// teacher's weights, or damaged bytes that still parse).
Teacher load_teacher(const std::string& dir, c10::Device device);

}  // namespace ssdd::teacher
