#include <gtest/gtest.h>
#include <torch/torch.h>

#include "data_fixtures.h"
#include "ssdd/core/error.h"
#include "ssdd/data/image_folder.h"
#include "ssdd/data/resize.h"
#include "ssdd/io/image_decode.h"

using namespace fixtures;
using ssdd::DataError;
namespace data = ssdd::data;

namespace {

// The image as the reader should hold it: C x H x W.
at::Tensor chw(const Bytes& hwc, int w, int h, int c) {
  return torch::from_blob(const_cast<uint8_t*>(hwc.data()), {h, w, c}, torch::kUInt8).permute({2, 0, 1}).clone();
}

void png(const std::string& path, int w, int h, int c, const Bytes& pixels) {
  write_bytes(path, encode_png(w, h, c, pixels));
}

// <root>/train/{cat,dog,empty}/ and <root>/test/{cat,dog}/ with 8x8 PNG/JPEG files.
std::string make_generic(const std::string& root) {
  png(root + "/train/dog/b.png", 8, 8, 3, pattern(8, 8, 3, 1));
  png(root + "/train/dog/a.PNG", 8, 8, 3, pattern(8, 8, 3, 2));
  write_bytes(root + "/train/cat/z.JPG", encode_jpeg(8, 8, 3, solid(8, 8, 3, {200, 100, 50}), 100));
  png(root + "/train/cat/y.png", 8, 8, 1, pattern(8, 8, 1, 3));  // grey among colour
  write_text(root + "/train/cat/notes.txt", "ignored");
  std::filesystem::create_directories(root + "/train/empty");
  write_text(root + "/train/empty/readme.md", "no images here");
  png(root + "/test/dog/c.png", 8, 8, 3, pattern(8, 8, 3, 4));
  png(root + "/test/cat/d.png", 8, 8, 3, pattern(8, 8, 3, 5));
  return root;
}

}  // namespace

TEST(DataImageFolder, GenericLayoutSortsClassesAndFiles) {
  TempDir dir;
  make_generic(dir.path());
  data::FolderOptions opts;
  data::ImageSet set = data::read_image_folder(dir.path() + "/train", opts);
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{4, 3, 8, 8}));
  EXPECT_EQ(set.class_names, (std::vector<std::string>{"cat", "dog"}));  // "empty" skipped
  EXPECT_EQ(set.num_classes, 2);
  EXPECT_TRUE(torch::equal(set.labels, torch::tensor({0, 0, 1, 1}, torch::kLong)));
  // cat/y.png (grey, replicated), cat/z.JPG, dog/a.PNG, dog/b.png: byte order of names.
  const Bytes grey = pattern(8, 8, 1, 3);
  EXPECT_TRUE(torch::equal(set.images[0], chw(grey, 8, 8, 1).expand({3, 8, 8})));
  EXPECT_LE((set.images[1].to(torch::kInt) - torch::tensor({200, 100, 50}).view({3, 1, 1})).abs().max().item<int>(), 2);
  EXPECT_TRUE(torch::equal(set.images[2], chw(pattern(8, 8, 3, 2), 8, 8, 3)));
  EXPECT_TRUE(torch::equal(set.images[3], chw(pattern(8, 8, 3, 1), 8, 8, 3)));
}

TEST(DataImageFolder, ResizesToTheResolutionAndConvertsChannels) {
  TempDir dir;
  png(dir.path() + "/s/a/big.png", 20, 12, 3, pattern(20, 12, 3, 7));
  png(dir.path() + "/s/a/flat.png", 10, 10, 3, solid(10, 10, 3, {10, 20, 30}));
  data::FolderOptions opts;
  opts.resolution = 6;
  data::ImageSet set = data::read_image_folder(dir.path() + "/s", opts);
  ASSERT_EQ(set.images.sizes(), (std::vector<int64_t>{2, 3, 6, 6}));
  // The same resize (data/resize.h: area averaging to shrink) done on the decoded image.
  at::Tensor ref = data::resize_pixels(chw(pattern(20, 12, 3, 7), 20, 12, 3), 6, 6);
  EXPECT_TRUE(torch::equal(set.images[0], ref));
  EXPECT_TRUE(torch::equal(set.images[1], torch::tensor({10, 20, 30}, torch::kUInt8).view({3, 1, 1}).expand({3, 6, 6})));

  opts.channels = 1;
  data::ImageSet grey = data::read_image_folder(dir.path() + "/s", opts);
  ASSERT_EQ(grey.images.sizes(), (std::vector<int64_t>{2, 1, 6, 6}));
  EXPECT_EQ(grey.images[1][0][0][0].item<int>(), (10 * 19595 + 20 * 38470 + 30 * 7471 + 32768) >> 16);

  // resolution 0: the first image's size; others are resized to it.
  opts = data::FolderOptions();
  data::ImageSet native = data::read_image_folder(dir.path() + "/s", opts);
  EXPECT_EQ(native.images.sizes(), (std::vector<int64_t>{2, 3, 12, 20}));
}

TEST(DataImageFolder, ThreadCountDoesNotChangeTheResult) {
  TempDir dir;
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 9; ++i)
      png(dir.path() + "/s/c" + std::to_string(c) + "/" + std::to_string(i) + ".png", 9 + i, 7 + c, 3,
          pattern(9 + i, 7 + c, 3, i + c));
  data::FolderOptions one, many;
  one.threads = 1;
  one.resolution = many.resolution = 5;
  many.threads = 5;
  data::ImageSet a = data::read_image_folder(dir.path() + "/s", one);
  data::ImageSet b = data::read_image_folder(dir.path() + "/s", many);
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_TRUE(torch::equal(a.labels, b.labels));
}

TEST(DataImageFolder, Errors) {
  TempDir dir;
  data::FolderOptions opts;
  EXPECT_THROW(data::read_image_folder(dir.path() + "/missing", opts), DataError);
  std::filesystem::create_directories(dir.path() + "/none/a");
  EXPECT_THROW(data::read_image_folder(dir.path() + "/none", opts), DataError);  // zero images

  // Two broken images: the error names the first one in reading order, whatever the threads.
  for (int i = 0; i < 12; ++i) png(dir.path() + "/s/a/" + std::to_string(10 + i) + ".png", 4, 4, 3, pattern(4, 4, 3, i));
  write_text(dir.path() + "/s/a/15.png", "broken");
  write_text(dir.path() + "/s/a/13.jpg", "broken too");
  for (int threads : {1, 4}) {
    opts.threads = threads;
    try {
      data::read_image_folder(dir.path() + "/s", opts);
      FAIL();
    } catch (const DataError& e) {
      EXPECT_EQ(e.path(), dir.path() + "/s/a/13.jpg");
    }
  }
  opts.channels = 2;
  EXPECT_THROW(data::read_image_folder(dir.path() + "/s", opts), ssdd::ConfigError);
}

TEST(DataImageFolder, ClassListKeepsLabelsAlignedAcrossSplits) {
  TempDir dir;
  make_generic(dir.path());
  data::FolderOptions opts;
  data::ImageSet test = data::read_image_folder(dir.path() + "/test", opts, {"ant", "cat", "dog"});
  EXPECT_EQ(test.num_classes, 3);
  EXPECT_TRUE(torch::equal(test.labels, torch::tensor({1, 2}, torch::kLong)));
  EXPECT_THROW(data::read_image_folder(dir.path() + "/test", opts, {"cat"}), DataError);  // dog not listed
}

TEST(DataImageFolder, TinyImageNet) {
  TempDir dir;
  const std::string root = dir.path() + "/tiny-imagenet-200";
  write_text(root + "/wnids.txt", "n02\nn01\n");
  for (const char* w : {"n01", "n02"})
    for (int i = 0; i < 2; ++i)
      write_bytes(root + "/train/" + w + "/images/" + w + "_" + std::to_string(i) + ".JPEG",
                  encode_jpeg(16, 16, 3, solid(16, 16, 3, {uint8_t(w[2] == '1' ? 30 : 220), 90, 90}), 100));
  write_text(root + "/train/n01/n01_boxes.txt", "ignored\n");
  write_bytes(root + "/val/images/val_0.JPEG", encode_jpeg(16, 16, 1, solid(16, 16, 1, {128}), 100));
  write_bytes(root + "/val/images/val_1.JPEG", encode_jpeg(16, 16, 3, pattern(16, 16, 3), 100));
  write_text(root + "/val/val_annotations.txt", "val_0.JPEG\tn02\t0\t0\t10\t10\nval_1.JPEG\tn01\t1\t1\t5\t5\n");

  data::FolderOptions opts;
  opts.resolution = 8;
  data::ImageSet train = data::read_tiny_imagenet(dir.path(), true, opts);  // parent folder accepted
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{4, 3, 8, 8}));
  EXPECT_EQ(train.class_names, (std::vector<std::string>{"n01", "n02"}));
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({0, 0, 1, 1}, torch::kLong)));
  EXPECT_NEAR(train.images[0][0].to(torch::kFloat).mean().item<float>(), 30, 2);
  EXPECT_NEAR(train.images[3][0].to(torch::kFloat).mean().item<float>(), 220, 2);

  data::ImageSet val = data::read_tiny_imagenet(root, false, opts);
  ASSERT_EQ(val.size(), 2);
  EXPECT_TRUE(torch::equal(val.labels, torch::tensor({1, 0}, torch::kLong)));
  EXPECT_EQ(val.channels(), 3);  // the grey image was expanded

  write_text(root + "/val/val_annotations.txt", "val_0.JPEG\tn09\t0\t0\t1\t1\n");
  EXPECT_THROW(data::read_tiny_imagenet(root, false, opts), DataError);
  write_text(root + "/val/val_annotations.txt", "val_9.JPEG\tn01\t0\t0\t1\t1\n");
  try {
    data::read_tiny_imagenet(root, false, opts);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), root + "/val/images/val_9.JPEG");
  }
  EXPECT_THROW(data::read_tiny_imagenet(dir.path() + "/elsewhere", true, opts), DataError);
}

TEST(DataImageFolder, Cub200) {
  TempDir dir;
  const std::string root = dir.path() + "/CUB_200_2011";
  write_text(root + "/images.txt",
             "1 001.Albatross/a_1.jpg\n2 001.Albatross/a_2.jpg\n3 002.Auklet/b_1.jpg\n4 002.Auklet/b_2.jpg\n");
  write_text(root + "/image_class_labels.txt", "1 1\n2 1\n3 2\n4 2\n");
  write_text(root + "/train_test_split.txt", "1 1\n2 0\n3 1\n4 0\n");
  write_text(root + "/classes.txt", "1 001.Albatross\n2 002.Auklet\n");
  const std::vector<std::string> rel = {"001.Albatross/a_1.jpg", "001.Albatross/a_2.jpg", "002.Auklet/b_1.jpg",
                                        "002.Auklet/b_2.jpg"};
  for (size_t i = 0; i < rel.size(); ++i)
    write_bytes(root + "/images/" + rel[i],
                encode_jpeg(12 + static_cast<int>(i), 10, 3, solid(12 + static_cast<int>(i), 10, 3, {uint8_t(40 * (i + 1)), 0, 0}), 100));

  data::FolderOptions opts;
  opts.resolution = 4;
  data::ImageSet train = data::read_cub200(dir.path(), true, opts);
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{2, 3, 4, 4}));
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({0, 1}, torch::kLong)));
  EXPECT_EQ(train.num_classes, 2);
  EXPECT_EQ(train.class_names, (std::vector<std::string>{"001.Albatross", "002.Auklet"}));
  EXPECT_NEAR(train.images[1][0].to(torch::kFloat).mean().item<float>(), 120, 3);  // image id 3
  data::ImageSet test = data::read_cub200(root, false, opts);
  EXPECT_TRUE(torch::equal(test.labels, torch::tensor({0, 1}, torch::kLong)));
  EXPECT_NEAR(test.images[1][0].to(torch::kFloat).mean().item<float>(), 160, 3);  // image id 4

  std::filesystem::remove(root + "/classes.txt");  // names then come from the folders
  EXPECT_EQ(data::read_cub200(root, true, opts).class_names, (std::vector<std::string>{"001.Albatross", "002.Auklet"}));
  std::filesystem::remove(root + "/images/002.Auklet/b_2.jpg");
  try {
    data::read_cub200(root, false, opts);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), root + "/images/002.Auklet/b_2.jpg");
  }
  std::filesystem::remove(root + "/train_test_split.txt");
  EXPECT_THROW(data::read_cub200(root, true, opts), DataError);
}

TEST(DataImageFolder, StanfordDogs) {
  TempDir dir;
  const std::string root = dir.path();
  const std::vector<std::string> rel = {"n02085620-Chihuahua/n02085620_1.jpg", "n02085620-Chihuahua/n02085620_2.jpg",
                                        "n02085782-Japanese_spaniel/n02085782_1.jpg"};
  for (size_t i = 0; i < rel.size(); ++i)
    write_bytes(root + "/Images/" + rel[i], encode_jpeg(10, 14, 3, pattern(10, 14, 3, static_cast<int>(i)), 95));
  std::filesystem::create_directories(root + "/Images/n02086240-Shih-Tzu");  // a class with no images
  write_text(root + "/train_list.txt", rel[2] + "\n" + rel[0] + "\n\n");
  write_text(root + "/lists/test_list.txt", "Images/" + rel[1] + "\r\n");

  data::FolderOptions opts;
  opts.resolution = 7;
  data::ImageSet train = data::read_stanford_dogs(root, true, opts);
  ASSERT_EQ(train.images.sizes(), (std::vector<int64_t>{2, 3, 7, 7}));
  EXPECT_EQ(train.num_classes, 3);
  EXPECT_EQ(train.class_names.at(2), "n02086240-Shih-Tzu");
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({1, 0}, torch::kLong)));  // list order kept
  data::ImageSet test = data::read_stanford_dogs(root, false, opts);
  EXPECT_TRUE(torch::equal(test.labels, torch::tensor({0}, torch::kLong)));

  write_text(root + "/train_list.txt", "n02085620-Chihuahua/missing.jpg\n");
  try {
    data::read_stanford_dogs(root, true, opts);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), root + "/Images/n02085620-Chihuahua/missing.jpg");
  }
  write_text(root + "/train_list.txt", "n09999999-Wolf/x.jpg\n");
  EXPECT_THROW(data::read_stanford_dogs(root, true, opts), DataError);
  std::filesystem::remove(root + "/train_list.txt");
  try {
    data::read_stanford_dogs(root, true, opts);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), root + "/train_list.txt");
  }
}

TEST(DataImageFolder, SetLevelResizeAndChannelConversion) {
  at::Tensor grey = torch::randint(0, 256, {3, 1, 10, 10}, torch::kUInt8);
  EXPECT_TRUE(torch::equal(data::resize_images(grey, 10), grey));
  EXPECT_EQ(data::resize_images(grey, 4).sizes(), (std::vector<int64_t>{3, 1, 4, 4}));
  at::Tensor rgb = data::convert_image_channels(grey, 3);
  EXPECT_TRUE(torch::equal(rgb[1][2], grey[1][0]));
  // Luma matches the decoder's per-image conversion bit for bit.
  at::Tensor colour = torch::randint(0, 256, {2, 3, 5, 5}, torch::kUInt8);
  at::Tensor luma = data::convert_image_channels(colour, 1);
  ssdd::io::DecodedImage img;
  img.width = 5;
  img.height = 5;
  img.channels = 3;
  at::Tensor hwc = colour[1].permute({1, 2, 0}).contiguous();
  img.pixels.assign(hwc.data_ptr<uint8_t>(), hwc.data_ptr<uint8_t>() + 75);
  const auto one = ssdd::io::convert_channels(img, 1);
  EXPECT_TRUE(torch::equal(luma[1][0].reshape({25}), torch::tensor(std::vector<int64_t>(one.pixels.begin(), one.pixels.end())).to(torch::kUInt8)));

  data::ImageSet set;
  set.images = grey;
  set = data::reshape_set(set, 6, 3);
  EXPECT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 3, 6, 6}));
}
