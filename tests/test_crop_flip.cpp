#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "ssdd/data/crop_flip.h"

using namespace ssdd;

TEST(CropFlip, EachOutputIsAShiftedOrFlippedWindowOfThePaddedInput) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const auto x = torch::arange(2 * 3 * 6 * 6, torch::kFloat).view({2, 3, 6, 6}) + 1;  // no zeros inside
  for (int trial = 0; trial < 5; ++trial) {
    const auto y = data::random_crop_flip(x, 2, gen);
    ASSERT_EQ(y.sizes(), x.sizes());
    const auto padded = torch::constant_pad_nd(x, {2, 2, 2, 2}, 0);
    for (int64_t i = 0; i < 2; ++i) {
      bool found = false;
      for (int64_t dy = 0; dy <= 4 && !found; ++dy)
        for (int64_t dx = 0; dx <= 4 && !found; ++dx) {
          const auto window = padded[i].slice(1, dy, dy + 6).slice(2, dx, dx + 6);
          found = torch::equal(y[i], window) || torch::equal(y[i], window.flip({2}));
        }
      EXPECT_TRUE(found) << "image " << i << " trial " << trial;
    }
  }
}

TEST(CropFlip, ReproducibleFromTheSeed) {
  const auto x = torch::rand({8, 1, 5, 5});
  auto g1 = at::make_generator<at::CPUGeneratorImpl>(1);
  auto g2 = at::make_generator<at::CPUGeneratorImpl>(1);
  EXPECT_TRUE(torch::equal(data::random_crop_flip(x, 4, g1), data::random_crop_flip(x, 4, g2)));
}
