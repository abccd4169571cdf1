#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data_fixtures.h"
#include "ssdd/core/error.h"
#include "ssdd/data/cifar.h"

using namespace fixtures;
using ssdd::DataError;
namespace data = ssdd::data;

namespace {

// Writes CIFAR-10 batches with `per_file` records each; record r of file f has label
// (f * per_file + r) % 10 and pixel seed f * per_file + r.
void write_cifar10(const std::string& dir, int per_file) {
  const std::vector<std::string> files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                          "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  for (size_t f = 0; f < files.size(); ++f) {
    Bytes bytes;
    for (int r = 0; r < per_file; ++r) {
      const int i = static_cast<int>(f) * per_file + r;
      const Bytes rec = cifar_record({static_cast<uint8_t>(i % 10)}, i);
      bytes.insert(bytes.end(), rec.begin(), rec.end());
    }
    write_bytes(dir + "/" + files[f], bytes);
  }
}

void expect_record(const data::ImageSet& set, int64_t index, int seed) {
  auto img = set.images[index];
  for (int ch : {0, 1, 2})
    for (int y : {0, 5, 31})
      for (int x : {0, 17, 31})
        ASSERT_EQ(img[ch][y][x].item<int>(), cifar_pixel(seed, ch, y, x)) << "record " << index << " ch " << ch;
}

}  // namespace

TEST(DataCifar, Cifar10TrainAndTest) {
  TempDir dir;
  write_cifar10(dir.path(), 3);
  write_text(dir.path() + "/batches.meta.txt",
             "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
  data::ImageSet train = data::read_cifar10(dir.path(), true);
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{15, 3, 32, 32}));
  EXPECT_EQ(train.num_classes, 10);
  ASSERT_EQ(train.class_names.size(), 10u);
  EXPECT_EQ(train.class_names[9], "truck");
  for (int i = 0; i < 15; ++i) EXPECT_EQ(train.labels[i].item<int64_t>(), i % 10);
  expect_record(train, 0, 0);
  expect_record(train, 7, 7);  // third file, second record: files are read in order
  expect_record(train, 14, 14);

  data::ImageSet test = data::read_cifar10(dir.path(), false);
  ASSERT_EQ(test.size(), 3);
  EXPECT_EQ(test.labels[0].item<int64_t>(), 15 % 10);
  expect_record(test, 2, 17);
}

TEST(DataCifar, Cifar10InOfficialSubfolderWithoutNames) {
  TempDir dir;
  write_cifar10(dir.path() + "/cifar-10-batches-bin", 1);
  data::ImageSet test = data::read_cifar10(dir.path(), false);
  EXPECT_EQ(test.size(), 1);
  EXPECT_TRUE(test.class_names.empty());
  EXPECT_EQ(test.num_classes, 10);
}

TEST(DataCifar, Cifar100UsesFineLabels) {
  TempDir dir;
  Bytes train, test;
  for (int i = 0; i < 4; ++i) {
    const Bytes rec = cifar_record({static_cast<uint8_t>(i), static_cast<uint8_t>(90 + i)}, i);
    train.insert(train.end(), rec.begin(), rec.end());
  }
  const Bytes rec = cifar_record({19, 42}, 99);
  test.insert(test.end(), rec.begin(), rec.end());
  write_bytes(dir.path() + "/cifar-100-binary/train.bin", train);
  write_bytes(dir.path() + "/cifar-100-binary/test.bin", test);
  std::string names;
  for (int i = 0; i < 100; ++i) names += "class" + std::to_string(i) + "\n";
  write_text(dir.path() + "/cifar-100-binary/fine_label_names.txt", names);

  data::ImageSet tr = data::read_cifar100(dir.path(), true);
  ASSERT_EQ(tr.size(), 4);
  EXPECT_EQ(tr.num_classes, 100);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(tr.labels[i].item<int64_t>(), 90 + i);
  expect_record(tr, 3, 3);
  EXPECT_EQ(tr.class_names.at(93), "class93");
  data::ImageSet te = data::read_cifar100(dir.path(), false);
  EXPECT_EQ(te.labels[0].item<int64_t>(), 42);
  expect_record(te, 0, 99);
}

TEST(DataCifar, LowLevelRecords) {
  TempDir dir;
  Bytes bytes;
  for (int i = 0; i < 3; ++i) {
    const Bytes rec = cifar_record({static_cast<uint8_t>(5 + i), static_cast<uint8_t>(i), 9}, i);
    bytes.insert(bytes.end(), rec.begin(), rec.end());
  }
  write_bytes(dir.path() + "/x.bin", bytes);
  data::ImageSet set = data::read_cifar_records({dir.path() + "/x.bin"}, 3, 1);
  EXPECT_EQ(set.num_classes, 3);
  EXPECT_TRUE(torch::equal(set.labels, torch::tensor({0, 1, 2}, torch::kLong)));
  expect_record(set, 1, 1);
  EXPECT_THROW(data::read_cifar_records({dir.path() + "/x.bin"}, 3, 3), DataError);
}

TEST(DataCifar, Errors) {
  TempDir dir;
  // Missing folder, missing batch.
  EXPECT_THROW(data::read_cifar10(dir.path() + "/nowhere", true), DataError);
  write_cifar10(dir.path(), 2);
  std::filesystem::remove(dir.path() + "/data_batch_4.bin");
  try {
    data::read_cifar10(dir.path(), true);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), dir.path() + "/data_batch_4.bin");
  }
  // Truncated: size not a multiple of 3073.
  write_cifar10(dir.path(), 2);
  Bytes b = read_bytes(dir.path() + "/test_batch.bin");
  b.resize(b.size() - 10);
  write_bytes(dir.path() + "/test_batch.bin", b);
  try {
    data::read_cifar10(dir.path(), false);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3073"), std::string::npos) << e.what();
  }
  // Empty file; a CIFAR-10 label above 9.
  write_bytes(dir.path() + "/test_batch.bin", {});
  EXPECT_THROW(data::read_cifar10(dir.path(), false), DataError);
  write_bytes(dir.path() + "/test_batch.bin", cifar_record({10}, 0));
  EXPECT_THROW(data::read_cifar10(dir.path(), false), DataError);
}
