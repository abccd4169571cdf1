#include <gtest/gtest.h>

#include "ssdd/core/error.h"
#include "ssdd/distill/storage.h"

using ssdd::distill::approx_net_floats;
using ssdd::distill::krrst_storage;
using ssdd::distill::max_images_within_budget;
using ssdd::distill::ours_storage;
using ssdd::distill::OursSizes;
using ssdd::distill::StorageReport;

namespace {

// Fashion-MNIST: 1x28x28 images, bases at 14x14, k_x 64, k_y 32, d 512, T 4, hidden 16.
OursSizes fmnist() {
  OursSizes s;
  s.channels = 1, s.height = 28, s.width = 28;
  s.base_height = 14, s.base_width = 14;
  s.image_bases = 64, s.rep_dim = 512, s.rep_bases = 32, s.views = 4, s.approx_hidden = 16;
  return s;
}

int64_t floats_of(const StorageReport& r, const std::string& name) {
  for (const auto& item : r.items) {
    if (item.name == name) return item.floats;
  }
  ADD_FAILURE() << "no item " << name;
  return -1;
}

std::string refusal(const OursSizes& s, int64_t budget) {
  try {
    max_images_within_budget(s, budget);
  } catch (const ssdd::ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "budget " << budget << " was accepted";
  return "";
}

}  // namespace

TEST(Storage, ApproxNetFloats) {
  // Linear(32,16): 32*16 + 16; Linear(16,32): 16*32 + 32.
  EXPECT_EQ(approx_net_floats(32, 16), 512 + 16 + 512 + 32);
  EXPECT_EQ(approx_net_floats(200, 4), 800 + 4 + 800 + 200);
}

TEST(Storage, FashionMnistBreakdown) {
  const auto r = ours_storage(fmnist(), 10);
  EXPECT_EQ(r.image_floats, 784);                  // 1*28*28
  EXPECT_EQ(floats_of(r, "image_bases"), 12544);   // 64 * 1*14*14
  EXPECT_EQ(floats_of(r, "image_mean"), 196);      // 1*14*14
  EXPECT_EQ(floats_of(r, "image_coeffs"), 640);    // 10 * 64
  EXPECT_EQ(floats_of(r, "rep_bases"), 16384);     // 32 * 512
  EXPECT_EQ(floats_of(r, "rep_mean"), 512);
  EXPECT_EQ(floats_of(r, "rep_coeffs"), 320);      // 10 * 32
  for (const char* t : {"approx.1", "approx.2", "approx.3"}) EXPECT_EQ(floats_of(r, t), 1072);
  EXPECT_EQ(r.items.size(), 9u);
  // 12544 + 196 + 640 + 16384 + 512 + 320 + 3*1072
  EXPECT_EQ(r.total_floats(), 33812);
  EXPECT_NEAR(r.image_equivalents(), 33812.0 / 784.0, 1e-12);
  EXPECT_EQ(r.biggest().name, "rep_bases");
}

TEST(Storage, FashionMnistLargestM) {
  // Fixed: 12544 + 196 + 16384 + 512 + 3*1072 = 32852; per image: 64 + 32 = 96.
  // Budget 100 images = 78400 floats: (78400 - 32852) / 96 = 474.46 -> 474.
  const auto s = fmnist();
  EXPECT_EQ(max_images_within_budget(s, 100), 474);
  EXPECT_LE(ours_storage(s, 474).total_floats(), 78400);   // 78356
  EXPECT_GT(ours_storage(s, 475).total_floats(), 78400);   // 78452
  // N = 50: (39200 - 32852) / 96 = 66.1 -> 66.
  EXPECT_EQ(max_images_within_budget(s, 50), 66);
}

TEST(Storage, WithoutApproximationStoresEveryViewsTargets) {
  auto s = fmnist();
  s.approximation = false;
  const auto r = ours_storage(s, 10);
  EXPECT_EQ(floats_of(r, "rep_coeffs"), 10 * 32 * 4);
  EXPECT_EQ(r.items.size(), 6u);  // no approx.* items
  // Fixed: 12544 + 196 + 16384 + 512 = 29636; per image 64 + 4*32 = 192.
  // (78400 - 29636) / 192 = 253.98 -> 253.
  EXPECT_EQ(max_images_within_budget(s, 100), 253);
}

TEST(Storage, WithoutParameterizationImagesAndTargetsAreStoredWhole) {
  auto s = fmnist();
  s.parameterization = false;
  s.view_names = {"rot0", "rot90", "rot180", "rot270"};
  const auto r = ours_storage(s, 10);
  EXPECT_EQ(floats_of(r, "images"), 10 * 784);
  EXPECT_EQ(floats_of(r, "targets"), 10 * 512);
  // q_t on d = 512: 512*16 + 16 + 16*512 + 512.
  EXPECT_EQ(floats_of(r, "approx.rot90"), 16912);
  EXPECT_EQ(r.items.size(), 5u);
  // Fixed: 3*16912 = 50736; per image 784 + 512 = 1296: (78400 - 50736) / 1296 = 21.3 -> 21.
  EXPECT_EQ(max_images_within_budget(s, 100), 21);
  s.approximation = false;  // every view's target stored: per image 784 + 4*512 = 2832
  EXPECT_EQ(floats_of(ours_storage(s, 10), "targets"), 10 * 512 * 4);
  EXPECT_EQ(max_images_within_budget(s, 100), 27);
  s.image_bases = 0;  // bases play no part without parameterization
  EXPECT_NO_THROW(ours_storage(s, 1));
}

TEST(Storage, ViewNamesNameTheApproximationNetworks) {
  auto s = fmnist();
  s.view_names = {"rot0", "rot90", "rot180", "rot270"};
  const auto r = ours_storage(s, 1);
  EXPECT_EQ(floats_of(r, "approx.rot90"), 1072);
  EXPECT_EQ(floats_of(r, "approx.rot270"), 1072);
  s.view_names = {"rot0"};
  EXPECT_THROW(ours_storage(s, 1), ssdd::ConfigError);
}

TEST(Storage, OneViewHasNoApproximation) {
  auto s = fmnist();
  s.views = 1;
  EXPECT_EQ(ours_storage(s, 0).items.size(), 6u);
}

TEST(Storage, RefusesWhenNotEvenOneImageFits) {
  // k_y = 144, d = 512: rep_bases = 73728 floats = 94.0 images of 784; with the rest
  // (12544 + 196 + 512 + 3*(144*16+16+16*144+144) = 3*4768, plus 64 + 144 for m = 1) > 78400.
  auto s = fmnist();
  s.rep_bases = 144;
  const std::string msg = refusal(s, 100);
  EXPECT_NE(msg.find("--budget"), std::string::npos) << msg;
  EXPECT_NE(msg.find("budget 100 images (78400 floats)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rep_bases alone takes 73728 floats (94.0 images)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--rep-bases"), std::string::npos) << msg;

  // CIFAR at full-resolution bases: 200 * 3072 = 614400 floats of image bases > 100 images.
  OursSizes c;
  c.channels = 3, c.height = c.width = 32, c.base_height = c.base_width = 32;
  c.image_bases = 200;
  const std::string msg2 = refusal(c, 100);
  EXPECT_NE(msg2.find("image_bases alone takes 614400 floats (200.0 images)"), std::string::npos) << msg2;

  EXPECT_THROW(max_images_within_budget(fmnist(), 0), ssdd::ConfigError);
}

TEST(Storage, KrrstCountsImagesAndTargets) {
  // 100 CIFAR images (3*32*32 = 3072 floats each) and 100 targets of 512 floats.
  const auto r = krrst_storage(100, 3, 32, 32, 512);
  EXPECT_EQ(r.image_floats, 3072);
  EXPECT_EQ(floats_of(r, "images"), 307200);
  EXPECT_EQ(floats_of(r, "targets"), 51200);
  EXPECT_EQ(r.total_floats(), 358400);
  EXPECT_NEAR(r.image_equivalents(), 358400.0 / 3072.0, 1e-12);  // 116.67: "a little over m"
}

TEST(Storage, JsonAndTable) {
  const auto r = ours_storage(fmnist(), 10);
  const auto j = r.to_json();
  ASSERT_EQ(j["items"].size(), r.items.size());
  EXPECT_EQ(j["items"][0]["name"], "image_bases");
  EXPECT_EQ(j["items"][0]["floats"], 12544);
  EXPECT_NEAR(j["items"][0]["images"].get<double>(), 16.0, 1e-12);
  EXPECT_EQ(j["total_floats"], 33812);
  EXPECT_EQ(j["image_floats"], 784);
  EXPECT_NEAR(j["image_equivalents"].get<double>(), 33812.0 / 784.0, 1e-9);

  const std::string table = r.table();
  for (const auto& item : r.items) EXPECT_NE(table.find(item.name), std::string::npos);
  EXPECT_NE(table.find("total"), std::string::npos);
  EXPECT_NE(table.find("33812"), std::string::npos);
  EXPECT_NE(table.find("image-equivalents"), std::string::npos);
  // Aligned columns: every item line has its first '|' at the same position.
  size_t bar = std::string::npos;
  size_t start = 0;
  while (start < table.size()) {
    const size_t end = table.find('\n', start);
    const std::string line = table.substr(start, end - start);
    start = end + 1;
    const size_t p = line.find(" | ");
    if (p == std::string::npos) continue;
    if (bar == std::string::npos) bar = p;
    EXPECT_EQ(p, bar) << line;
  }
}
