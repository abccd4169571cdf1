// The `resolution` data option (issue 24): resizing at load, the imagenette / imagewoof
// registry names, the decoded-data cache keyed by resolution, and the hash rule (a config
// at resolution 0 keeps the hashes and JSON it had before the option existed).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <torch/torch.h>

#include "data_fixtures.h"
#include "ssdd/core/error.h"
#include "ssdd/core/hash.h"
#include "ssdd/data/cache.h"
#include "ssdd/data/identity.h"
#include "ssdd/data/image_folder.h"
#include "ssdd/data/registry.h"
#include "ssdd/data/resize.h"
#include "ssdd/distill/distiller.h"
#include "ssdd/evaluate/baselines.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/experiment/experiment_config.h"
#include "ssdd/teacher/teacher.h"
#include "tiny_data.h"

using namespace fixtures;
namespace data = ssdd::data;
namespace fs = std::filesystem;
using ssdd::hash_hex;

namespace {

at::Tensor random_images(int64_t n, int64_t c, int64_t h, int64_t w, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randint(0, 256, {n, c, h, w}, gen, torch::kLong).to(torch::kUInt8);
}

// A tiny Imagenette-style release: <root>/{train,val}/<wnid>/*.jpg, 8x8 RGB; class k's
// images are a flat colour, so JPEG keeps them nearly exact.
void write_imagenet_subset(const std::string& root, int per_class_train, int per_class_val) {
  const std::vector<std::string> wnids = {"n02102040", "n01440764", "n03000684"};
  for (size_t k = 0; k < wnids.size(); ++k)
    for (auto [split, n] : {std::pair<std::string, int>{"train", per_class_train}, {"val", per_class_val}})
      for (int i = 0; i < n; ++i)
        write_bytes(root + "/" + split + "/" + wnids[k] + "/" + wnids[k] + "_" + std::to_string(i) + ".jpg",
                    encode_jpeg(8, 8, 3, pattern(8, 8, 3, static_cast<int>(k * 10 + i)), 100));
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) ++n;
  return n;
}

}  // namespace

// ---- resizing ---------------------------------------------------------------------------

TEST(ResizePixels, ConstantImageStaysConstant) {
  const at::Tensor flat = torch::full({2, 3, 12, 9}, 137, torch::kUInt8);
  for (auto [h, w] : {std::pair<int64_t, int64_t>{6, 3}, {5, 7}, {24, 18}, {17, 4}, {12, 9}}) {
    const at::Tensor out = data::resize_pixels(flat, h, w);
    ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, h, w}));
    EXPECT_TRUE(torch::equal(out, torch::full({2, 3, h, w}, 137, torch::kUInt8))) << h << "x" << w;
  }
}

TEST(ResizePixels, HalvingIsTheMeanOfTwoByTwoBlocks) {
  const at::Tensor x = random_images(3, 3, 8, 6, 1);
  const at::Tensor mean = x.to(torch::kDouble).view({3, 3, 4, 2, 3, 2}).mean({3, 5});
  const at::Tensor expected = mean.round().to(torch::kUInt8);  // ties to even, as the resize rounds
  EXPECT_TRUE(torch::equal(data::resize_pixels(x, 4, 3), expected));
  // The same through the set-level resize and a single C x H x W image.
  EXPECT_TRUE(torch::equal(data::resize_images(x.slice(3, 0, 6).slice(2, 0, 6), 3),
                           x.slice(2, 0, 6).to(torch::kDouble).view({3, 3, 3, 2, 3, 2}).mean({3, 5}).round().to(torch::kUInt8)));
  EXPECT_TRUE(torch::equal(data::resize_pixels(x[1], 4, 3), expected[1]));
}

TEST(ResizePixels, NonIntegerShrinkWeighsPartlyCoveredPixels) {
  // 3 -> 2: output 0 covers pixel 0 and half of pixel 1; output 1 the other half and pixel 2.
  const at::Tensor w = data::resize_weights(3, 2);
  EXPECT_TRUE(torch::allclose(w, torch::tensor({2.0f / 3, 1.0f / 3, 0.0f, 0.0f, 1.0f / 3, 2.0f / 3}).view({2, 3})));
  const at::Tensor line = torch::tensor({0, 90, 255}, torch::kUInt8).view({1, 1, 1, 3});
  EXPECT_TRUE(torch::equal(data::resize_pixels(line, 1, 2), torch::tensor({30, 200}, torch::kUInt8).view({1, 1, 1, 2})));
}

TEST(ResizePixels, EnlargingIsBilinear) {
  const at::Tensor x = random_images(2, 3, 5, 4, 2);
  namespace F = torch::nn::functional;
  const at::Tensor ref = F::interpolate(x.to(torch::kFloat), F::InterpolateFuncOptions()
                                                                  .size(std::vector<int64_t>{11, 8})
                                                                  .mode(torch::kBilinear)
                                                                  .align_corners(false))
                             .round()
                             .clamp(0, 255)
                             .to(torch::kUInt8);
  const at::Tensor out = data::resize_pixels(x, 11, 8);
  // Same weights, summed in another order: at most one grey level apart where a value lands
  // on .5 (frequent: weights of 1/4 and 3/4 on whole numbers).
  EXPECT_LE((out.to(torch::kInt) - ref.to(torch::kInt)).abs().max().item<int>(), 1);
  // The weights themselves: PyTorch's bilinear interpolation of each unit vector.
  const at::Tensor unit = torch::eye(5).view({5, 1, 1, 5});
  const at::Tensor columns = F::interpolate(unit, F::InterpolateFuncOptions()
                                                      .size(std::vector<int64_t>{1, 11})
                                                      .mode(torch::kBilinear)
                                                      .align_corners(false))
                                 .view({5, 11});
  EXPECT_TRUE(torch::allclose(data::resize_weights(5, 11), columns.t(), 1e-6, 1e-6));
  EXPECT_TRUE(torch::equal(data::resize_pixels(x, 5, 4), x));  // same size: the input
}

// ---- imagenette / imagewoof -------------------------------------------------------------

TEST(ResolutionRegistry, ReadsAnImagenetteStyleFolderAtAnyResolution) {
  ScopedCache cache;
  TempDir root;
  // The archive's layout one level down (imagenette2-64/) under the default data folder.
  const std::string data_dir = data::data_root();
  write_imagenet_subset(data_dir + "/imagenette/imagenette2-64", 4, 2);
  const data::DatasetSplits native = data::load_dataset("imagenette");
  ASSERT_EQ(native.train.images.sizes(), (std::vector<int64_t>{12, 3, 8, 8}));
  ASSERT_EQ(native.test.images.sizes(), (std::vector<int64_t>{6, 3, 8, 8}));
  EXPECT_EQ(native.train.class_names, (std::vector<std::string>{"n01440764", "n02102040", "n03000684"}));
  EXPECT_EQ(native.test.labels.bincount().min().item<int64_t>(), 2);
  EXPECT_EQ(native.name, "imagenette");

  data::LoadOptions half;
  half.resolution = 4;
  const data::DatasetSplits small = data::load_dataset("imagenette", half);
  ASSERT_EQ(small.train.images.sizes(), (std::vector<int64_t>{12, 3, 4, 4}));
  EXPECT_TRUE(torch::equal(small.train.images, data::resize_pixels(native.train.images, 4, 4)));
  EXPECT_TRUE(torch::equal(small.test.labels, native.test.labels));
  // Normalisation from the train split, as read (other folder data sets get theirs so too).
  const data::Normalization norm = data::compute_normalization(small.train.images);
  EXPECT_EQ(small.norm.mean, norm.mean);
  EXPECT_EQ(small.norm.std, norm.std);

  // imagewoof: the same reader, the release's folders directly under --data-dir.
  write_imagenet_subset(root.path(), 1, 1);
  data::LoadOptions dir;
  dir.data_dir = root.path();
  dir.resolution = 16;
  const data::DatasetSplits woof = data::load_dataset("imagewoof2", dir);
  EXPECT_EQ(woof.name, "imagewoof");
  EXPECT_EQ(woof.train.images.sizes(), (std::vector<int64_t>{3, 3, 16, 16}));

  // Neither layout: one line naming the folder and the script.
  dir.data_dir = root.path() + "/nothing";
  try {
    data::load_dataset("imagewoof", dir);
    FAIL() << "expected a DataError";
  } catch (const ssdd::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("extract-data.sh"), std::string::npos) << e.what();
  }
  const auto names = data::known_datasets();
  EXPECT_NE(std::find(names.begin(), names.end(), "imagenette"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "imagewoof"), names.end());
}

TEST(ResolutionRegistry, CacheIsKeyedByResolution) {
  ScopedCache cache;
  TempDir root;
  write_imagenet_subset(root.path(), 2, 1);
  data::LoadOptions opts;
  opts.data_dir = root.path();
  const std::string sets = data::cache_dir() + "/sets";
  const auto first = data::load_dataset("imagenette", opts);
  EXPECT_EQ(files_in(sets), 2u);  // train and test at the native size
  opts.resolution = 4;
  const auto four = data::load_dataset("imagenette", opts);
  EXPECT_EQ(files_in(sets), 4u);  // two more: never the native files served at 4x4
  EXPECT_EQ(four.train.height(), 4);
  opts.resolution = 2;
  EXPECT_EQ(data::load_dataset("imagenette", opts).train.height(), 2);
  EXPECT_EQ(files_in(sets), 6u);
  opts.resolution = 4;
  const auto again = data::load_dataset("imagenette", opts);  // from the cache
  EXPECT_EQ(files_in(sets), 6u);
  EXPECT_TRUE(torch::equal(again.train.images, four.train.images));
  opts.resolution = 0;
  EXPECT_TRUE(torch::equal(data::load_dataset("imagenette", opts).train.images, first.train.images));
}

TEST(ResolutionRegistry, LoadForFollowsTheNetworksSize) {
  ScopedCache cache;
  TempDir root;
  write_imagenet_subset(root.path(), 1, 1);
  data::LoadOptions opts;
  opts.data_dir = root.path();
  EXPECT_EQ(data::load_dataset_for("imagenette", opts, 3, 4, 4).train.height(), 4);  // a teacher of 4x4 images
  EXPECT_EQ(data::load_dataset_for("imagenette", opts, 3, 8, 8).train.height(), 8);
  opts.resolution = 2;  // a resolution asked for is kept (the shape check then names the mismatch)
  EXPECT_EQ(data::load_dataset_for("imagenette", opts, 3, 4, 4).train.height(), 2);
}

TEST(ResolutionRegistry, RealImagenetteAndImagewoofArchives) {
  // Extracted by scripts/extract-data.sh (scripts/setup.sh runs it where ../shared is), else
  // extracted here from the shared archive; skipped on a machine without either.
  std::vector<std::string> roots = {data::data_root()};
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    roots.push_back(std::string(xdg) + "/ssdd/data");
  else if (const char* home = std::getenv("HOME"); home && *home)
    roots.push_back(std::string(home) + "/.cache/ssdd/data");
  TempDir unpacked;
  ScopedCache cache;
  struct Expect {
    const char* name;
    const char* archive;
    int64_t train, test;
    int resolution;
  };
  for (const Expect& e : {Expect{"imagenette", "imagenette2-64", 9469, 3925, 32}, Expect{"imagewoof", "imagewoof2-64", 9025, 3929, 0}}) {
    std::string dir;
    for (const auto& r : roots)
      if (dir.empty() && fs::is_directory(r + "/" + e.name + "/val")) dir = r + "/" + e.name;
    const std::string archive = std::string(SSDD_SHARED_DIR) + "/data/" + e.archive + ".tar.gz";
    if (dir.empty() && fs::exists(archive)) {
      const std::string cmd = "tar -xzf '" + archive + "' -C '" + unpacked.path() + "'";
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
      dir = unpacked.path();  // the reader finds imagenette2-64/ below it
    }
    if (dir.empty()) {
      std::cout << "[ skipped ] no " << e.name << " (neither extracted under " << roots[0] << " nor " << archive << ")\n";
      continue;
    }
    data::LoadOptions opts;
    opts.data_dir = dir;
    opts.resolution = e.resolution;
    const data::DatasetSplits s = data::load_dataset(e.name, opts);
    const int64_t side = e.resolution > 0 ? e.resolution : 64;
    EXPECT_EQ(s.train.images.sizes(), (std::vector<int64_t>{e.train, 3, side, side})) << e.name;
    EXPECT_EQ(s.test.images.sizes(), (std::vector<int64_t>{e.test, 3, side, side})) << e.name;
    EXPECT_EQ(s.train.num_classes, 10) << e.name;
    EXPECT_EQ(s.train.class_names.front().substr(0, 1), "n") << e.name;
    ASSERT_EQ(s.norm.mean.size(), 3u);
    for (int c = 0; c < 3; ++c) EXPECT_TRUE(s.norm.mean[c] > 0.3f && s.norm.mean[c] < 0.6f && s.norm.std[c] > 0.15f) << e.name;
  }
}

// ---- the hash rule ------------------------------------------------------------------------

// Values printed by the code before `resolution` existed: resolution 0 must keep them, so
// trained teachers, run folders and shipped teachers stay current. (The cpu grid preset and
// fashion-mnist-cpu were re-pinned when the cpu preset moved to equal pretraining steps, issue 23.)
TEST(ResolutionHashes, NativeResolutionKeepsTheHashesOfBefore) {
  EXPECT_EQ(ssdd::teacher::teacher_preset("cpu").hash(), "0b5974b69764d99b");
  EXPECT_EQ(ssdd::teacher::teacher_preset("quick").hash(), "498d92b600e8b58f");
  EXPECT_EQ(ssdd::distill::distill_preset("cpu").hash(), "b0039d6df464a054");
  EXPECT_EQ(hash_hex(ssdd::evaluate::BaselineConfig{}.to_json().dump()), "5b40bf1e72dd66e6");
  EXPECT_EQ(hash_hex(ssdd::evaluate::grid_preset("cpu").to_json().dump()), "d4d8cc9c08d4adaf");
  EXPECT_EQ(hash_hex(ssdd::experiment::builtin_experiment("fashion-mnist-cpu").to_json().dump()), "43533c2caddd957f");
  EXPECT_FALSE(ssdd::teacher::teacher_preset("cpu").to_json().contains("resolution"));
  EXPECT_FALSE(ssdd::distill::distill_preset("cpu").to_json().contains("resolution"));
  EXPECT_FALSE(ssdd::evaluate::BaselineConfig{}.to_json().contains("resolution"));
  EXPECT_FALSE(ssdd::evaluate::grid_preset("cpu").to_json().contains("resolution"));
}

TEST(ResolutionHashes, AResolutionChangesEveryStagesHashAndRoundTrips) {
  auto teacher = ssdd::teacher::teacher_preset("cpu");
  auto distill = ssdd::distill::distill_preset("cpu");
  ssdd::evaluate::BaselineConfig baseline;
  auto grid = ssdd::evaluate::grid_preset("cpu");
  teacher.resolution = distill.resolution = baseline.resolution = grid.resolution = 32;
  EXPECT_NE(teacher.hash(), "0b5974b69764d99b");
  EXPECT_NE(distill.hash(), "b0039d6df464a054");
  EXPECT_NE(hash_hex(baseline.to_json().dump()), "5b40bf1e72dd66e6");
  EXPECT_NE(hash_hex(grid.to_json().dump()), "d4d8cc9c08d4adaf");
  EXPECT_EQ(ssdd::teacher::TeacherConfig::from_json(teacher.to_json()).resolution, 32);
  EXPECT_EQ(ssdd::distill::DistillConfig::from_json(distill.to_json()).resolution, 32);
  EXPECT_EQ(ssdd::evaluate::BaselineConfig::from_json(baseline.to_json()).resolution, 32);
  EXPECT_EQ(ssdd::evaluate::GridConfig::from_json(grid.to_json()).resolution, 32);
  EXPECT_THROW(ssdd::teacher::TeacherConfig::from_json({{"resolution", -1}}), ssdd::ConfigError);
  EXPECT_THROW(ssdd::evaluate::GridConfig::from_json({{"resolution", 20000}}), ssdd::ConfigError);
}

TEST(ResolutionHashes, TheTeacherIdFollowsTheImagesRead) {
  ScopedCache cache;
  TempDir dir;
  write_tiny_idx(dir.path());  // 16x16 grey
  auto config = tiny_teacher_config(dir.path(), 1, 1);
  const std::string native = ssdd::teacher::teacher_id(config);
  config.resolution = 16;  // the same images, but asked for: another config
  const std::string same_size = ssdd::teacher::teacher_id(config);
  config.resolution = 8;
  const std::string eight = ssdd::teacher::teacher_id(config);
  EXPECT_NE(native, same_size);
  EXPECT_NE(eight, same_size);
  data::LoadOptions opts;
  opts.data_dir = dir.path();
  const std::string digest16 = data::dataset_digest("mnist", opts);
  opts.resolution = 8;
  EXPECT_NE(data::dataset_digest("mnist", opts), digest16);  // the data digest itself follows
}

TEST(ResolutionHashes, ExperimentConfigsTakeAResolutionForEveryStage) {
  const nlohmann::json file = {{"data", "cifar10"},
                               {"resolution", 16},
                               {"distill", {{"ours", {{"method", "ours"}}}}},
                               {"baselines", {{"methods", {"random"}}}},
                               {"evaluate", {{"targets", {"source", "imagenette"}}}}};
  const auto c = ssdd::experiment::parse_experiment(file, "test.toml", "");
  EXPECT_EQ(c.teacher.config.resolution, 16);
  EXPECT_EQ(c.distill.at(0).config.resolution, 16);
  EXPECT_EQ(c.baselines.at(0).config.resolution, 16);
  EXPECT_EQ(c.grids.at(0).config.resolution, 16);
  EXPECT_EQ(c.to_json()["teacher"]["config"]["resolution"], 16);

  // The shipped CIFAR-10 config: Imagenette and ImageWoof as targets, read at the source's
  // 32x32 (resolution left at 0, so its teacher keeps its id).
  const auto cifar = ssdd::experiment::builtin_experiment("cifar10-cpu");
  EXPECT_EQ(cifar.grids.at(0).config.targets, (std::vector<std::string>{"source", "imagenette", "imagewoof"}));
  EXPECT_EQ(cifar.teacher.config.resolution, 0);
  EXPECT_FALSE(cifar.to_json()["teacher"]["config"].contains("resolution"));
}
