#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/data/views.h"

using ssdd::data::apply_view;
using ssdd::data::apply_views;
using ssdd::data::format_views;
using ssdd::data::parse_views;
using ssdd::data::View;
using ssdd::data::ViewKind;

namespace {

// 2 images x 2 channels x 5 x 5 holding distinct values 0..99.
torch::Tensor arange_images(int64_t n = 2, int64_t c = 2, int64_t s = 5) {
  return torch::arange(n * c * s * s, torch::kFloat).view({n, c, s, s});
}

}  // namespace

TEST(Views, Rot90IsCounterClockwisePermutation) {
  // Convention (torch.rot90 over dims (H, W), k = 1): y[i][j] = x[j][W-1-i], i.e. the top row
  // becomes the left column read bottom-up: counter-clockwise on screen.
  const auto x = arange_images();
  const auto y = apply_view(x, View{ViewKind::rotate90});
  ASSERT_EQ(y.sizes(), x.sizes());
  const int64_t w = x.size(3);
  auto xa = x.accessor<float, 4>();
  auto ya = y.accessor<float, 4>();
  for (int64_t n = 0; n < x.size(0); ++n)
    for (int64_t c = 0; c < x.size(1); ++c)
      for (int64_t i = 0; i < w; ++i)
        for (int64_t j = 0; j < w; ++j) ASSERT_EQ(ya[n][c][i][j], xa[n][c][j][w - 1 - i]) << i << "," << j;
  // 2x2 picture [[a, b], [c, d]] turns into [[b, d], [a, c]].
  const auto small = torch::tensor({1.f, 2.f, 3.f, 4.f}).view({1, 1, 2, 2});
  EXPECT_TRUE(torch::equal(apply_view(small, View{ViewKind::rotate90}),
                           torch::tensor({2.f, 4.f, 1.f, 3.f}).view({1, 1, 2, 2})));
}

TEST(Views, Rot180AndRot270AndFlipByIndex) {
  const auto x = arange_images();
  const int64_t w = x.size(3);
  const auto r180 = apply_view(x, View{ViewKind::rotate180});
  const auto r270 = apply_view(x, View{ViewKind::rotate270});
  const auto flip = apply_view(x, View{ViewKind::hflip});
  auto xa = x.accessor<float, 4>();
  auto a180 = r180.accessor<float, 4>();
  auto a270 = r270.accessor<float, 4>();
  auto af = flip.accessor<float, 4>();
  for (int64_t i = 0; i < w; ++i) {
    for (int64_t j = 0; j < w; ++j) {
      ASSERT_EQ(a180[1][1][i][j], xa[1][1][w - 1 - i][w - 1 - j]);
      ASSERT_EQ(a270[1][1][i][j], xa[1][1][w - 1 - j][i]);  // clockwise
      ASSERT_EQ(af[1][1][i][j], xa[1][1][i][w - 1 - j]);
    }
  }
}

TEST(Views, FourQuarterTurnsAreIdentityAndValuesPreserved) {
  const auto x = torch::randn({3, 3, 8, 8});
  auto y = x;
  for (int k = 0; k < 4; ++k) y = apply_view(y, View{ViewKind::rotate90});
  EXPECT_TRUE(torch::equal(y, x));
  EXPECT_TRUE(torch::equal(apply_view(apply_view(x, View{ViewKind::hflip}), View{ViewKind::hflip}), x));
  for (ViewKind kind : {ViewKind::rotate90, ViewKind::rotate180, ViewKind::rotate270, ViewKind::hflip}) {
    const auto v = apply_view(x, View{kind});
    // Same multiset of pixel values per image and channel: sorting both gives equal tensors.
    EXPECT_TRUE(torch::equal(std::get<0>(v.flatten(2).sort(2)), std::get<0>(x.flatten(2).sort(2))));
  }
  // rot90 then rot270 undo each other; works on integer images too.
  const auto u8 = torch::randint(0, 256, {2, 1, 6, 6}, torch::kUInt8);
  EXPECT_TRUE(torch::equal(apply_view(apply_view(u8, View{ViewKind::rotate90}), View{ViewKind::rotate270}), u8));
}

TEST(Views, ApplyViewsIsViewMajor) {
  const auto x = arange_images(3, 1, 4);
  const auto views = parse_views("rot0,rot90,rot180,rot270");
  const auto y = apply_views(x, views);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{12, 1, 4, 4}));
  for (size_t t = 0; t < views.size(); ++t) {
    EXPECT_TRUE(torch::equal(y.narrow(0, 3 * t, 3), apply_view(x, views[t]))) << t;
  }
  EXPECT_TRUE(torch::equal(y.narrow(0, 0, 3), x));
}

TEST(Views, RotationNeedsSquareImages) {
  const auto x = torch::zeros({1, 1, 4, 6});
  EXPECT_THROW(apply_view(x, View{ViewKind::rotate90}), ssdd::ConfigError);
  EXPECT_EQ(apply_view(x, View{ViewKind::hflip}).sizes(), x.sizes());
}

TEST(Views, ParseAndFormat) {
  const auto def = parse_views("rot0,rot90,rot180,rot270");
  ASSERT_EQ(def.size(), 4u);
  EXPECT_EQ(def[3].kind, ViewKind::rotate270);
  EXPECT_EQ(format_views(def), "rot0,rot90,rot180,rot270");
  const auto none = parse_views("none");
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].kind, ViewKind::identity);
  EXPECT_EQ(format_views(parse_views(" rot0 , hflip ")), "rot0,hflip");
}

TEST(Views, ParseErrors) {
  EXPECT_THROW(parse_views("rot0,rot45"), ssdd::ConfigError);
  EXPECT_THROW(parse_views("rot0,rot90,rot90"), ssdd::ConfigError);
  EXPECT_THROW(parse_views("rot90,rot0"), ssdd::ConfigError);
  EXPECT_THROW(parse_views(""), ssdd::ConfigError);
  EXPECT_THROW(parse_views("rot0,,rot90"), ssdd::ConfigError);
  EXPECT_THROW(parse_views("none,rot90"), ssdd::ConfigError);
  try {
    parse_views("rot0,spin", "config.toml: distill.views");
    FAIL() << "no error";
  } catch (const ssdd::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("config.toml: distill.views"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("spin"), std::string::npos);
  }
}
