#include <CLI/CLI.hpp>

#include <chrono>
#include <sstream>
#include <cstdio>
#include <thread>
#include <torch/torch.h>

#include "ssdd/cli/commands.h"
#include "ssdd/core/text.h"
#include "ssdd/core/runtime.h"
#include "ssdd/data/registry.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/io/tensor_checksum.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/teacher.h"

namespace ssdd::cli {

void add_info_command(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("info", "Show versions, known data sets, architectures and presets; load a data set");
  auto data = std::make_shared<std::string>();
  auto data_dir = std::make_shared<std::string>();
  auto digest = std::make_shared<std::vector<std::string>>();
  auto resolution = std::make_shared<int>(0);
  cmd->add_option("--data", *data, "Load this data set and print its shape and load time");
  cmd->add_option("--data-dir", *data_dir, "Folder holding the data set's files");
  cmd->add_option("--resolution", *resolution, "Square side the data set is read at, resized once at load (0: its own size)")
      ->check(CLI::Range(0, 16384));
  cmd->add_option("--digest", *digest,
                  "Print a content hash of every tensor in these .pt files (metadata left out) and stop: "
                  "equal lines, equal numbers")
      ->check(CLI::ExistingFile);
  cmd->callback([data, data_dir, digest, resolution, &action] {
    action = [data, data_dir, digest, resolution] {
      if (!digest->empty()) {
        for (const auto& path : *digest) {
          // The checksum entry covers __meta__ (wall times): left out, like __meta__ itself.
          std::istringstream lines(io::digest_tensors(io::without_checksum(io::load_tensors(path))));
          for (std::string line; std::getline(lines, line);) std::printf("%s %s\n", path.c_str(), line.c_str());
        }
        return;
      }
      std::printf("ssdd %s, LibTorch %d.%d.%d, CUDA %s, %u hardware threads\n", SSDD_VERSION, TORCH_VERSION_MAJOR,
                  TORCH_VERSION_MINOR, TORCH_VERSION_PATCH, torch::cuda::is_available() ? "available" : "not available",
                  std::thread::hardware_concurrency());
      std::printf("data sets:      %s\n", joined(data::known_datasets()).c_str());
      std::printf("architectures:  %s\n", joined(models::known_archs()).c_str());
      std::printf("teacher presets: %s\n", joined(teacher::teacher_presets()).c_str());
      if (data->empty()) return;
      set_threads(0);
      data::LoadOptions load;
      load.data_dir = *data_dir;
      load.resolution = *resolution;
      const auto start = std::chrono::steady_clock::now();
      const auto splits = data::load_dataset(*data, load);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::printf("%s: train %lld x %lldx%lldx%lld, test %lld, %lld classes, loaded in %.3f s\n", data->c_str(),
                  static_cast<long long>(splits.train.size()), static_cast<long long>(splits.train.channels()),
                  static_cast<long long>(splits.train.height()), static_cast<long long>(splits.train.width()),
                  static_cast<long long>(splits.test.size()), static_cast<long long>(splits.train.num_classes),
                  seconds);
    };
  });
}

}  // namespace ssdd::cli
