#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "ssdd/cli/commands.h"
#include "ssdd/core/error.h"
#include "ssdd/core/limits.h"
#include "ssdd/core/runtime.h"
#include "ssdd/data/registry.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/models/image_shape.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/teacher.h"

namespace ssdd::cli {

void add_probe_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("probe", "Linear-probe an encoder (a teacher, random weights, or raw pixels)");
  struct State {
    std::string data = "fashion-mnist", data_dir, encoder, json, device = "cpu";
    int resolution = 0;
    measure::ProbeOptions probe;
    int threads = 0;
    uint64_t seed = 0;
  };
  auto s = std::make_shared<State>();
  cmd->add_option("--data", s->data, "Target data set (train split fits, test split scores)")->capture_default_str();
  cmd->add_option("--data-dir", s->data_dir, "Folder holding the data set's files");
  cmd->add_option("--resolution", s->resolution, "Square side the data set is read at, resized once at load (0: its own size)")
      ->check(CLI::Range(0, 16384));
  cmd->add_option("--encoder", s->encoder,
                  "teacher:DIR (a trained teacher), random:ARCH (e.g. random:convnet:64-64-64) or pixels")
      ->required();
  cmd->add_option("--epochs", s->probe.epochs, "Classifier epochs")->capture_default_str();
  cmd->add_option("--lr", s->probe.lr, "Classifier learning rate (cosine decay)")->capture_default_str();
  cmd->add_option("--seed", s->seed, "Seed of the random encoder and the classifier")->capture_default_str();
  cmd->add_option("--threads", s->threads, "CPU threads (0 = all cores)")->capture_default_str();
  cmd->add_option("--device", s->device, "cpu or cuda[:N]")->capture_default_str();
  cmd->add_option("--json", s->json, "Also write the result to this JSON file");
  cmd->callback([s, &action] {
    action = [s] {
      check_at_least("command line", "epochs", s->probe.epochs, 1);
      set_threads(s->threads);
      s->probe.device = parse_device(s->device);
      s->probe.seed = s->seed;
      data::LoadOptions load;
      load.data_dir = s->data_dir;
      load.resolution = s->resolution;
      const auto splits = data::load_dataset(s->data, load);
      const models::ImageShape shape{splits.train.channels(), splits.train.height(), splits.train.width()};
      measure::FeatureFn features;
      models::Encoder encoder;
      if (s->encoder == "pixels") {
        features = [](const at::Tensor& x) { return x.flatten(1); };
      } else if (s->encoder.rfind("random:", 0) == 0) {
        seed_everything(s->seed);
        encoder = models::make_encoder_from_spec(s->encoder.substr(7), shape);
      } else if (s->encoder.rfind("teacher:", 0) == 0) {
        const teacher::Teacher t = teacher::load_teacher(s->encoder.substr(8), s->probe.device);
        // The features are pooled: another image size works, other channels do not.
        models::check_image_shape("--data", s->data + " holds", shape, "the teacher in " + s->encoder.substr(8) + " takes",
                                  t.shape, /*channels_only=*/true);
        encoder = t.encoder;
      } else {
        throw ConfigError("--encoder", "expected teacher:DIR, random:ARCH or pixels, found '" + s->encoder + "'");
      }
      if (encoder) {
        encoder->to(s->probe.device);
        encoder->eval();
        features = [encoder](const at::Tensor& x) { return encoder->features(x); };
      }
      const auto train_f = measure::extract_features(features, splits.train.images, splits.norm, 512, s->probe.device,
                                                    "probe: features of train");
      const auto test_f = measure::extract_features(features, splits.test.images, splits.norm, 512, s->probe.device,
                                                   "probe: features of test");
      const auto r = measure::linear_probe(train_f, splits.train.labels, test_f, splits.test.labels,
                                           splits.train.num_classes, s->probe);
      std::printf("probe %s on %s: test top-1 %.2f%% (train %.2f%%), %lld features, %.1f s\n", s->encoder.c_str(),
                  s->data.c_str(), 100 * r.test_accuracy, 100 * r.train_accuracy,
                  static_cast<long long>(r.feature_dim), r.seconds);
      if (!s->json.empty()) {
        const nlohmann::json j = {{"encoder", s->encoder},         {"data", s->data},
                                  {"test_accuracy", r.test_accuracy}, {"train_accuracy", r.train_accuracy},
                                  {"feature_dim", r.feature_dim},   {"epochs", s->probe.epochs},
                                  {"seed", s->seed}};
        io::write_file_atomic(s->json, j.dump(2) + "\n");
      }
    };
  });
}

}  // namespace ssdd::cli
