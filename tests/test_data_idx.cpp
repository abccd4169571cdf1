#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data_fixtures.h"
#include "ssdd/core/error.h"
#include "ssdd/data/idx.h"

using namespace fixtures;
using ssdd::DataError;
namespace data = ssdd::data;

namespace {

Bytes some_pixels(size_t n) {
  Bytes p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 37 % 251);
  return p;
}

// The message of the DataError `fn` throws (fails the test when it throws none).
template <typename Fn>
std::string data_error(Fn fn) {
  try {
    fn();
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no DataError";
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(DataIdx, ReadsPlainAndGzipImagesAndLabels) {
  TempDir dir;
  const Bytes pixels = some_pixels(3 * 4 * 5);
  write_bytes(dir.path() + "/img", idx_images(3, 4, 5, pixels));
  write_gzip(dir.path() + "/img.gz", idx_images(3, 4, 5, pixels));
  write_bytes(dir.path() + "/lab", idx_labels({2, 0, 7}));
  write_gzip(dir.path() + "/lab.gz", idx_labels({2, 0, 7}));

  for (const char* suffix : {"", ".gz"}) {
    data::ImageSet set = data::read_idx_images(dir.path() + "/img" + suffix);
    ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 1, 4, 5}));
    EXPECT_EQ(set.images.scalar_type(), torch::kUInt8);
    EXPECT_FALSE(set.has_labels());
    EXPECT_TRUE(std::equal(pixels.begin(), pixels.end(), set.images.data_ptr<uint8_t>()));

    at::Tensor labels = data::read_idx_labels(dir.path() + "/lab" + suffix);
    EXPECT_EQ(labels.scalar_type(), torch::kLong);
    EXPECT_TRUE(torch::equal(labels, torch::tensor({2, 0, 7}, torch::kLong)));
  }
  data::ImageSet pair = data::read_idx_pair(dir.path() + "/img.gz", dir.path() + "/lab");
  EXPECT_EQ(pair.num_classes, 8);
  EXPECT_EQ(pair.size(), 3);
  EXPECT_EQ(pair.labels[0].item<int64_t>(), 2);
}

TEST(DataIdx, DetectsGzipByMagicNotByName) {
  TempDir dir;
  const Bytes pixels = some_pixels(2 * 3 * 3);
  write_gzip(dir.path() + "/compressed.idx", idx_images(2, 3, 3, pixels));     // gzip, no .gz
  write_bytes(dir.path() + "/plain.gz", idx_images(2, 3, 3, pixels));          // plain, named .gz
  for (const char* name : {"/compressed.idx", "/plain.gz"}) {
    data::ImageSet set = data::read_idx_images(dir.path() + name);
    EXPECT_TRUE(std::equal(pixels.begin(), pixels.end(), set.images.data_ptr<uint8_t>())) << name;
  }
}

TEST(DataIdx, MissingFileAndWrongMagic) {
  TempDir dir;
  const std::string missing = dir.path() + "/nope-idx3-ubyte.gz";
  try {
    data::read_idx_images(missing);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), missing);
  }
  write_bytes(dir.path() + "/labels", idx_labels({1, 2}));
  const std::string msg = data_error([&] { data::read_idx_images(dir.path() + "/labels"); });
  EXPECT_TRUE(contains(msg, "0x00000803")) << msg;
  EXPECT_TRUE(contains(msg, "label file")) << msg;
  write_bytes(dir.path() + "/images", idx_images(1, 2, 2, some_pixels(4)));
  EXPECT_THROW(data::read_idx_labels(dir.path() + "/images"), DataError);
  write_bytes(dir.path() + "/random", Bytes{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1});
  EXPECT_THROW(data::read_idx_images(dir.path() + "/random"), DataError);
}

TEST(DataIdx, TruncatedFilesSayHowManyBytes) {
  TempDir dir;
  Bytes full = idx_images(10, 28, 28, some_pixels(10 * 784));
  Bytes cut(full.begin(), full.end() - 100);
  write_bytes(dir.path() + "/cut", cut);
  std::string msg = data_error([&] { data::read_idx_images(dir.path() + "/cut"); });
  EXPECT_TRUE(contains(msg, std::to_string(full.size()))) << msg;  // expected
  EXPECT_TRUE(contains(msg, std::to_string(cut.size()))) << msg;   // found
  EXPECT_TRUE(contains(msg, "truncated")) << msg;

  write_gzip(dir.path() + "/cut.gz", cut);
  msg = data_error([&] { data::read_idx_images(dir.path() + "/cut.gz"); });
  EXPECT_TRUE(contains(msg, std::to_string(full.size()))) << msg;
  EXPECT_TRUE(contains(msg, std::to_string(cut.size()))) << msg;

  // A gzip stream itself cut short.
  write_gzip(dir.path() + "/full.gz", full);
  Bytes gz = read_bytes(dir.path() + "/full.gz");
  write_bytes(dir.path() + "/gzcut.gz", Bytes(gz.begin(), gz.begin() + static_cast<long>(gz.size() / 2)));
  msg = data_error([&] { data::read_idx_images(dir.path() + "/gzcut.gz"); });
  EXPECT_TRUE(contains(msg, "truncated")) << msg;

  // Header itself cut short; labels cut short; trailing bytes.
  write_bytes(dir.path() + "/stub", Bytes(full.begin(), full.begin() + 6));
  EXPECT_THROW(data::read_idx_images(dir.path() + "/stub"), DataError);
  Bytes labels = idx_labels({1, 2, 3, 4});
  labels.pop_back();
  write_bytes(dir.path() + "/labcut", labels);
  EXPECT_THROW(data::read_idx_labels(dir.path() + "/labcut"), DataError);
  Bytes longer = full;
  longer.push_back(0);
  write_bytes(dir.path() + "/long", longer);
  EXPECT_THROW(data::read_idx_images(dir.path() + "/long"), DataError);
}

TEST(DataIdx, CorruptGzipIsADataError) {
  TempDir dir;
  write_gzip(dir.path() + "/ok.gz", idx_images(4, 8, 8, some_pixels(256)));
  Bytes gz = read_bytes(dir.path() + "/ok.gz");
  for (size_t i = 12; i < gz.size() - 8; ++i) gz[i] ^= 0x5a;  // scramble the deflate body
  write_bytes(dir.path() + "/bad.gz", gz);
  EXPECT_THROW(data::read_idx_images(dir.path() + "/bad.gz"), DataError);
}

TEST(DataIdx, HostileCountsAreRefusedBeforeAllocating) {
  TempDir dir;
  // 10^9 images of 1000x1000 = 10^15 bytes claimed by a file of a few bytes.
  const Bytes hostile = idx_images(1000000000u, 1000, 1000, some_pixels(64));
  write_bytes(dir.path() + "/hostile", hostile);
  write_gzip(dir.path() + "/hostile.gz", hostile);
  std::string msg = data_error([&] { data::read_idx_images(dir.path() + "/hostile"); });
  EXPECT_TRUE(contains(msg, "1000000000")) << msg;
  msg = data_error([&] { data::read_idx_images(dir.path() + "/hostile.gz"); });
  EXPECT_TRUE(contains(msg, "1000000000 images")) << msg;
  // Sizes whose product overflows 64 bits.
  write_bytes(dir.path() + "/overflow", idx_images(0xffffffffu, 0xffffffffu, 0xffffffffu, {}));
  EXPECT_THROW(data::read_idx_images(dir.path() + "/overflow"), DataError);
  // A label file claiming 4 billion labels.
  Bytes labels;
  put_u32_be(labels, 0x801);
  put_u32_be(labels, 0xffffffffu);
  labels.push_back(1);
  write_gzip(dir.path() + "/labels.gz", labels);
  EXPECT_THROW(data::read_idx_labels(dir.path() + "/labels.gz"), DataError);
  // Zero-sized images.
  write_bytes(dir.path() + "/empty", idx_images(3, 0, 28, {}));
  EXPECT_THROW(data::read_idx_images(dir.path() + "/empty"), DataError);
}

TEST(DataIdx, PairCountMismatchNamesBothFiles) {
  TempDir dir;
  const std::string images = dir.path() + "/train-images-idx3-ubyte";
  const std::string labels = dir.path() + "/train-labels-idx1-ubyte";
  write_bytes(images, idx_images(3, 2, 2, some_pixels(12)));
  write_bytes(labels, idx_labels({1, 2}));
  try {
    data::read_idx_pair(images, labels);
    FAIL();
  } catch (const DataError& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(contains(msg, images)) << msg;
    EXPECT_TRUE(contains(msg, labels)) << msg;
    EXPECT_TRUE(contains(msg, "3 images and 2 labels")) << msg;
  }
}
