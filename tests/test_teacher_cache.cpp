#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/data/registry.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/io/tensor_checksum.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/representations.h"
#include "test_util.h"

using namespace ssdd;
namespace fs = std::filesystem;

namespace {

teacher::Teacher tiny_teacher(const std::string& id = "abc") {
  torch::manual_seed(0);
  teacher::Teacher t;
  t.encoder = models::make_encoder_from_spec("convnet:4-8:gap", {1, 8, 8});
  t.encoder->eval();
  t.arch = "convnet:4-8:gap";
  t.shape = {1, 8, 8};
  t.norm = {{0.5f}, {0.25f}};
  t.id = id;
  t.feature_dim = 8;
  return t;
}

// The teacher as if loaded from `dir`: its representations are cached there.
teacher::Teacher in_folder(teacher::Teacher t, const std::string& dir) {
  t.dir = dir;
  return t;
}

at::Tensor tiny_images(uint64_t seed = 1) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randint(0, 256, {20, 1, 8, 8}, gen, torch::TensorOptions().dtype(torch::kUInt8));
}

data::View view(data::ViewKind kind) { return data::View{kind}; }

// Identity of the file on disk: an atomic rewrite always gives a new inode.
std::pair<ino_t, int64_t> file_identity(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return {st.st_ino, static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

at::Tensor direct_features(const teacher::Teacher& t, const at::Tensor& images_u8) {
  torch::NoGradGuard no_grad;
  return t.encoder->features(data::normalize(images_u8, t.norm));
}

const c10::Device kCpu(c10::kCPU);

}  // namespace

TEST(TeacherCache, ComputesOnceThenLoads) {
  TempDir dir;
  const auto t = tiny_teacher();
  const auto images = tiny_images();
  const auto id = view(data::ViewKind::identity);
  const auto first = teacher::representations(in_folder(t, dir.path()), "fashion-mnist", "train", images, id, kCpu, 8);
  const std::string path = dir.path() + "/reps/fashion-mnist-train-rot0.pt";
  ASSERT_TRUE(fs::exists(path));
  ASSERT_EQ(first.sizes(), (std::vector<int64_t>{20, 8}));
  EXPECT_EQ(first.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::allclose(first, direct_features(t, images), 1e-5, 1e-5));
  EXPECT_FALSE(t.encoder->is_training());

  const auto before = file_identity(path);
  const auto second = teacher::representations(in_folder(t, dir.path()), "fashion-mnist", "train", images, id, kCpu, 8);
  EXPECT_TRUE(torch::equal(first, second));
  EXPECT_EQ(file_identity(path), before);

  // Proof that the second call reads the file: a planted value with the right key (and its
  // checksum redone) comes back.
  auto stored = io::load_tensors(path);
  stored["reps"] = torch::full({20, 8}, 7.0f);
  io::save_tensors_checksummed(path, stored);
  const auto planted = teacher::representations(in_folder(t, dir.path()), "fashion-mnist", "train", images, id, kCpu);
  EXPECT_TRUE(torch::equal(planted, torch::full({20, 8}, 7.0f)));
}

TEST(TeacherCache, StaleKeysRecompute) {
  TempDir dir;
  const auto t = tiny_teacher();
  const auto images = tiny_images();
  const auto id = view(data::ViewKind::identity);
  const std::string path = dir.path() + "/reps/d-train-rot0.pt";
  auto reps = [&](const teacher::Teacher& teacher, const at::Tensor& x) {
    return teacher::representations(in_folder(teacher, dir.path()), "d", "train", x, id, kCpu);
  };
  reps(t, images);
  auto last = file_identity(path);
  auto expect_rewritten = [&] {
    const auto now = file_identity(path);
    EXPECT_NE(now, last);
    last = now;
  };

  // Another teacher (same weights, different id): recomputed and rewritten.
  reps(tiny_teacher("other"), images);
  expect_rewritten();

  // One pixel changed.
  auto edited = images.clone();
  edited[10][0][3][3] = static_cast<uint8_t>(edited[10][0][3][3].item<int>() ^ 1);
  const auto r_edit = reps(t, edited);
  expect_rewritten();
  EXPECT_TRUE(torch::allclose(r_edit, direct_features(t, edited), 1e-5, 1e-5));

  // The first two images swapped: the same byte sums overall, different reps order.
  auto order = torch::arange(20);
  order[0] = 1;
  order[1] = 0;
  const auto swapped = edited.index_select(0, order);
  const auto r_swap = reps(t, swapped);
  expect_rewritten();
  EXPECT_TRUE(torch::allclose(r_swap, direct_features(t, swapped), 1e-5, 1e-5));

  // Fewer images.
  const auto r_fewer = reps(t, swapped.slice(0, 0, 12));
  expect_rewritten();
  EXPECT_EQ(r_fewer.size(0), 12);

  // A corrupt file is recomputed, not trusted.
  { std::ofstream(path, std::ios::binary | std::ios::trunc) << "garbage"; }
  last = file_identity(path);
  const auto r_fixed = reps(t, images);
  expect_rewritten();
  EXPECT_TRUE(torch::allclose(r_fixed, direct_features(t, images), 1e-5, 1e-5));
}

TEST(TeacherCache, RotatedViewIsTheEncoderOnRotatedImages) {
  TempDir dir;
  const auto t = tiny_teacher();
  const auto images = tiny_images(2);
  const auto r90 = teacher::representations(in_folder(t, dir.path()), "d", "test", images,
                                                    view(data::ViewKind::rotate90), kCpu, 7);
  EXPECT_TRUE(fs::exists(dir.path() + "/reps/d-test-rot90.pt"));
  const auto expected = direct_features(t, torch::rot90(images, 1, {2, 3}));
  EXPECT_TRUE(torch::allclose(r90, expected, 1e-5, 1e-5));
  // and differs from the identity's reps (the encoder is not rotation invariant)
  const auto r0 = teacher::representations(in_folder(t, dir.path()), "d", "test", images,
                                                   view(data::ViewKind::identity), kCpu);
  EXPECT_FALSE(torch::allclose(r0, r90, 1e-3, 1e-3));
}

TEST(TeacherCache, OddDataNamesGiveSafeDistinctFiles) {
  TempDir dir;
  const auto t = tiny_teacher();
  const auto images = tiny_images();
  const auto id = view(data::ViewKind::identity);
  teacher::representations(in_folder(t, dir.path()), "folder:/x/y", "train", images, id, kCpu);
  teacher::representations(in_folder(t, dir.path()), "folder:/x_y", "train", images, id, kCpu);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path() + "/reps")) {
    if (entry.path().filename() == ".ssdd.lock") continue;  // the writers' lock (io/folder_lock.h)
    EXPECT_TRUE(entry.is_regular_file());
    names.push_back(entry.path().filename().string());
  }
  ASSERT_EQ(names.size(), 2u);
  EXPECT_NE(names[0], names[1]);
  for (const auto& name : names) {
    EXPECT_EQ(name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"),
              std::string::npos)
        << name;
    EXPECT_EQ(name.rfind("folder__x_", 0), 0u) << name;
    EXPECT_NE(name.find("-train-rot0.pt"), std::string::npos) << name;
  }
}

TEST(TeacherCache, RejectsBadInput) {
  TempDir dir;
  const auto t = tiny_teacher();
  const auto id = view(data::ViewKind::identity);
  EXPECT_THROW(teacher::representations(in_folder(t, dir.path()), "d", "train", torch::rand({4, 1, 8, 8}), id, kCpu),
               Error);
  EXPECT_THROW(teacher::representations(in_folder(t, dir.path()), "d", "train", tiny_images(), id, kCpu, 0),
               ConfigError);
}
