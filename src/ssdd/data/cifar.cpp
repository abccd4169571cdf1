#include "ssdd/data/cifar.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace fs = std::filesystem;

namespace ssdd::data {
namespace {

constexpr int64_t kPixels = 3 * 32 * 32;

// Non-empty, trimmed lines of an optional text file (empty when absent).
std::vector<std::string> read_names(const fs::path& path) {
  std::vector<std::string> names;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

// The folder that holds `marker`: `dir` itself or its official release subfolder.
fs::path resolve_dir(const std::string& dir, const char* marker, const char* subfolder) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / marker, ec)) return dir;
  if (fs::exists(fs::path(dir) / subfolder / marker, ec)) return fs::path(dir) / subfolder;
  if (!fs::is_directory(dir, ec)) throw DataError(dir, "a CIFAR binary folder", "no such directory");
  throw DataError((fs::path(dir) / marker).string(), std::string("a CIFAR binary file (also looked in ") + subfolder + "/)",
                  "no such file");
}

}  // namespace

ImageSet read_cifar_records(const std::vector<std::string>& paths, int label_bytes, int label_index) {
  if (label_bytes < 1 || label_index < 0 || label_index >= label_bytes)
    throw DataError("<cifar records>", "0 <= label_index < label_bytes", std::to_string(label_index) + " of " + std::to_string(label_bytes));
  if (paths.empty()) throw DataError("<cifar records>", "at least one file", "none");
  const int64_t record = label_bytes + kPixels;
  std::vector<int64_t> counts;
  int64_t total = 0;
  for (const auto& path : paths) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw DataError(path, "a CIFAR binary file", "no such file");
    const auto size = static_cast<int64_t>(fs::file_size(path, ec));
    if (ec) throw DataError(path, "a readable CIFAR binary file", ec.message());
    if (size == 0 || size % record != 0)
      throw DataError(path, "a positive multiple of " + std::to_string(record) + " bytes (records of " +
                                std::to_string(label_bytes) + " label + 3072 pixel bytes)",
                      std::to_string(size) + " bytes (truncated)");
    counts.push_back(size / record);
    total += size / record;
  }

  ImageSet set;
  set.images = torch::empty({total, 3, 32, 32}, torch::kUInt8);
  at::Tensor labels = torch::empty({total}, torch::kUInt8);
  uint8_t* images = set.images.data_ptr<uint8_t>();
  uint8_t* label_out = labels.data_ptr<uint8_t>();
  std::vector<uint8_t> buffer;
  int64_t at = 0;
  for (size_t f = 0; f < paths.size(); ++f) {
    buffer.resize(static_cast<size_t>(counts[f] * record));
    std::FILE* file = std::fopen(paths[f].c_str(), "rb");
    if (!file) throw DataError(paths[f], "a readable CIFAR binary file", "one that cannot be opened");
    const size_t got = std::fread(buffer.data(), 1, buffer.size(), file);
    std::fclose(file);
    if (got != buffer.size())
      throw DataError(paths[f], std::to_string(buffer.size()) + " bytes", std::to_string(got) + " bytes (truncated)");
    for (int64_t r = 0; r < counts[f]; ++r, ++at) {
      const uint8_t* rec = buffer.data() + r * record;
      label_out[at] = rec[label_index];
      std::memcpy(images + at * kPixels, rec + label_bytes, kPixels);
    }
  }
  set.labels = labels.to(torch::kLong);
  set.num_classes = set.labels.max().item<int64_t>() + 1;
  return set;
}

ImageSet read_cifar10(const std::string& dir, bool train) {
  const fs::path root = resolve_dir(dir, train ? "data_batch_1.bin" : "test_batch.bin", "cifar-10-batches-bin");
  std::vector<std::string> paths;
  if (train) {
    for (int i = 1; i <= 5; ++i) paths.push_back((root / ("data_batch_" + std::to_string(i) + ".bin")).string());
  } else {
    paths.push_back((root / "test_batch.bin").string());
  }
  ImageSet set = read_cifar_records(paths, 1, 0);
  if (set.num_classes > 10)
    throw DataError(paths.front(), "CIFAR-10 labels 0..9", "label " + std::to_string(set.num_classes - 1));
  set.num_classes = 10;
  set.class_names = read_names(root / "batches.meta.txt");
  if (set.class_names.size() != 10) set.class_names.clear();
  return set;
}

ImageSet read_cifar100(const std::string& dir, bool train) {
  const fs::path root = resolve_dir(dir, train ? "train.bin" : "test.bin", "cifar-100-binary");
  ImageSet set = read_cifar_records({(root / (train ? "train.bin" : "test.bin")).string()}, 2, 1);
  if (set.num_classes > 100)
    throw DataError((root / (train ? "train.bin" : "test.bin")).string(), "CIFAR-100 fine labels 0..99",
                    "label " + std::to_string(set.num_classes - 1));
  set.num_classes = 100;
  set.class_names = read_names(root / "fine_label_names.txt");
  if (set.class_names.size() != 100) set.class_names.clear();
  return set;
}

}  // namespace ssdd::data
