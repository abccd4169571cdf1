// PNG output, canvas drawing, the bitmap font and image grids (charts: test_io_svg_chart.cpp).
#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "ssdd/core/error.h"
#include "ssdd/io/bitmap_font.h"
#include "ssdd/io/canvas.h"
#include "ssdd/io/image_grid.h"
#include "ssdd/io/png_write.h"

namespace fs = std::filesystem;
using ssdd::io::Canvas;
using ssdd::io::Rgb;

namespace {

struct Decoded {
  int width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};

// Reads a PNG back with libpng in its stored format (no conversion), so channel
// counts and values are checked exactly.
Decoded read_png(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) {
    ADD_FAILURE() << "libpng cannot read " << path << ": " << image.message;
    return {};
  }
  Decoded d;
  d.width = static_cast<int>(image.width);
  d.height = static_cast<int>(image.height);
  d.channels = static_cast<int>(PNG_IMAGE_SAMPLE_CHANNELS(image.format));
  d.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, d.pixels.data(), 0, nullptr)) {
    ADD_FAILURE() << "libpng cannot decode " << path << ": " << image.message;
    return {};
  }
  return d;
}

class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("ssdd_pics_" + std::string(info->test_suite_name()) + "_" + info->name() + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    return names;
  }

 private:
  fs::path path_;
};

size_t count_not(const Canvas& c, Rgb background) {
  size_t n = 0;
  for (int y = 0; y < c.height(); ++y) {
    for (int x = 0; x < c.width(); ++x) n += c.at(x, y) != background;
  }
  return n;
}

}  // namespace

// ---- PNG --------------------------------------------------------------------------------

TEST(PngWrite, RoundTripsGreyRgbAndRgba) {
  TempDir dir;
  for (int channels : {1, 3, 4}) {
    const int w = 5, h = 3;
    std::vector<uint8_t> pixels(static_cast<size_t>(w) * h * channels);
    for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 37 + channels);
    const std::string path = dir.file("c" + std::to_string(channels) + ".png");
    ssdd::io::write_png(path, pixels.data(), w, h, channels);
    const Decoded d = read_png(path);
    EXPECT_EQ(d.width, w);
    EXPECT_EQ(d.height, h);
    EXPECT_EQ(d.channels, channels);
    EXPECT_EQ(d.pixels, pixels) << "channels " << channels;
  }
  EXPECT_EQ(dir.entries().size(), 3u);  // no temporary files left behind
}

TEST(PngWrite, EncodeStartsWithSignature) {
  const std::vector<uint8_t> pixels(4 * 4 * 3, 128);
  const std::vector<uint8_t> png = ssdd::io::encode_png(pixels.data(), 4, 4, 3);
  const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(std::memcmp(png.data(), signature, 8), 0);
  EXPECT_EQ(ssdd::io::png_data_uri(png).rfind("data:image/png;base64,iVBORw0KGgo", 0), 0u);
}

TEST(PngWrite, MissingDirectoryThrowsAndLeavesNoTemporaryFile) {
  TempDir dir;
  const std::vector<uint8_t> pixels(2 * 2, 0);
  const std::string path = dir.file("missing/sub/x.png");
  EXPECT_THROW(ssdd::io::write_png(path, pixels.data(), 2, 2, 1), ssdd::IoError);
  EXPECT_TRUE(dir.entries().empty());
  EXPECT_FALSE(fs::exists(dir.file("missing")));
}

TEST(PngWrite, FailedRenameRemovesTemporaryFile) {
  TempDir dir;
  // The target is a non-empty folder: the temporary file is written, the rename fails.
  fs::create_directories(dir.file("occupied/inner"));
  const std::vector<uint8_t> pixels(2 * 2, 0);
  try {
    ssdd::io::write_png(dir.file("occupied"), pixels.data(), 2, 2, 1);
    ADD_FAILURE() << "expected IoError";
  } catch (const ssdd::IoError& e) {
    EXPECT_NE(std::string(e.what()).find("occupied"), std::string::npos) << e.what();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"occupied"});
}

TEST(PngWrite, BadArgumentsThrowIoError) {
  const std::vector<uint8_t> pixels(16, 0);
  EXPECT_THROW(ssdd::io::encode_png(pixels.data(), 2, 2, 2), ssdd::IoError);
  EXPECT_THROW(ssdd::io::encode_png(pixels.data(), 0, 2, 1), ssdd::IoError);
  EXPECT_THROW(ssdd::io::encode_png(nullptr, 2, 2, 1), ssdd::IoError);
}

TEST(Base64, KnownVectors) {
  auto b64 = [](const std::string& s) { return ssdd::io::base64(std::vector<uint8_t>(s.begin(), s.end())); };
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("foob"), "Zm9vYg==");
  EXPECT_EQ(b64("fooba"), "Zm9vYmE=");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(ssdd::io::base64({0xFF, 0xFE, 0x00}), "//4A");
}

// ---- font and canvas ----------------------------------------------------------------

TEST(Font, EveryPrintableAsciiHasInkExceptSpace) {
  namespace font = ssdd::io::font;
  for (char32_t c = 32; c < 127; ++c) {
    const font::Glyph& g = font::glyph(c);
    int ink = 0;
    for (int y = 0; y < font::kGlyphHeight; ++y) {
      for (int x = 0; x < font::kGlyphWidth; ++x) ink += font::pixel(g, x, y);
    }
    if (c == U' ') {
      EXPECT_EQ(ink, 0);
    } else {
      EXPECT_GT(ink, 0) << "char " << static_cast<char>(c);
    }
    EXPECT_TRUE(font::has_glyph(c));
  }
  EXPECT_TRUE(font::has_glyph(U'\u00B0'));
  EXPECT_FALSE(font::has_glyph(U'\u4E2D'));
}

TEST(Font, GlyphsAreDistinct) {
  namespace font = ssdd::io::font;
  for (char32_t a = 33; a < 127; ++a) {
    for (char32_t b = a + 1; b < 127; ++b) EXPECT_NE(font::glyph(a), font::glyph(b)) << char(a) << " " << char(b);
  }
}

TEST(Font, DecodesUtf8AndMeasures) {
  namespace font = ssdd::io::font;
  EXPECT_EQ(font::decode_utf8("0\xC2\xB0"), std::u32string(U"0\u00B0"));
  EXPECT_EQ(font::decode_utf8("a\xC2"), std::u32string(U"a\uFFFD"));  // truncated sequence
  EXPECT_EQ(font::text_width("", 2), 0);
  EXPECT_EQ(font::text_width("ab", 1), 2 * font::kAdvance - 1);
  EXPECT_EQ(font::text_width("90\xC2\xB0", 2), (3 * font::kAdvance - 1) * 2);
}

TEST(Canvas, PixelsLinesAndClip) {
  Canvas c(20, 10, Rgb{1, 2, 3});
  EXPECT_EQ(c.at(19, 9), (Rgb{1, 2, 3}));
  c.set_pixel(-1, 0, Rgb{9, 9, 9});  // off-canvas writes are ignored
  c.set_pixel(20, 0, Rgb{9, 9, 9});
  EXPECT_EQ(count_not(c, Rgb{1, 2, 3}), 0u);

  const Rgb red{255, 0, 0};
  c.draw_line(2, 4, 12, 4, red, 1, true);  // an axis-aligned line through pixel centres is crisp
  for (int x = 0; x < 20; ++x) {
    for (int y = 0; y < 10; ++y) {
      const bool on = y == 4 && x >= 2 && x <= 12;
      EXPECT_EQ(c.at(x, y) == red, on) << x << "," << y;
    }
  }
  c.set_clip(ssdd::io::Rect{0, 0, 5, 10});
  c.draw_line(0, 7, 19, 7, red, 1, false);
  c.reset_clip();
  for (int x = 0; x < 20; ++x) EXPECT_EQ(c.at(x, 7) == red, x < 5) << x;

  c.fill(ssdd::io::colors::kWhite);
  c.draw_line(0, 0, 19, 9, red, 2, true);
  EXPECT_GT(count_not(c, ssdd::io::colors::kWhite), 19u);
  c.fill_rect(ssdd::io::Rect{-5, -5, 100, 100}, red);  // clipped, no out-of-range write
  EXPECT_EQ(count_not(c, red), 0u);
  EXPECT_THROW(Canvas(0, 5), ssdd::Error);
}

TEST(Canvas, TextStaysInsideItsBox) {
  Canvas c(100, 40);
  const Rgb ink{0, 0, 0};
  c.draw_text(10, 5, "Hg", ink, 2);
  const int w = ssdd::io::text_width("Hg", 2), h = ssdd::io::text_height(2);
  size_t inside = 0, outside = 0;
  for (int y = 0; y < c.height(); ++y) {
    for (int x = 0; x < c.width(); ++x) {
      if (c.at(x, y) != ink) continue;
      (x >= 10 && x < 10 + w && y >= 5 && y < 5 + h ? inside : outside)++;
    }
  }
  EXPECT_GT(inside, 0u);
  EXPECT_EQ(outside, 0u);
  // 'g' has a descender: ink below the capital height.
  bool below_caps = false;
  for (int x = 10; x < 10 + w; ++x) below_caps |= c.at(x, 5 + 7 * 2) == ink;
  EXPECT_TRUE(below_caps);

  Canvas v(40, 100);
  v.draw_text_vertical(20, 50, "abc", ink, 1);
  EXPECT_GT(count_not(v, ssdd::io::colors::kWhite), 0u);
}

// ---- image grid -----------------------------------------------------------------------

TEST(ImageGrid, GreyTilesScaledAndPadded) {
  TempDir dir;
  // Three 2x2 grey images; image i, pixel (r, c) = 10 * i + 2 * r + c + 1.
  std::vector<uint8_t> images;
  for (int i = 0; i < 3; ++i) {
    for (int p = 0; p < 4; ++p) images.push_back(static_cast<uint8_t>(10 * i + p + 1));
  }
  const std::string path = dir.file("grid.png");
  ssdd::io::write_image_grid(path, images.data(), 3, 1, 2, 2, /*columns=*/2, /*scale=*/2, /*padding=*/2);
  const Decoded d = read_png(path);
  // 2 columns of 4-pixel tiles with 3 paddings of 2: 14; 2 rows likewise.
  ASSERT_EQ(d.width, 14);
  ASSERT_EQ(d.height, 14);
  ASSERT_EQ(d.channels, 3);
  auto px = [&](int x, int y) {
    const size_t i = (static_cast<size_t>(y) * d.width + x) * 3;
    EXPECT_TRUE(d.pixels[i] == d.pixels[i + 1] && d.pixels[i] == d.pixels[i + 2]) << "grey expanded to RGB";
    return static_cast<int>(d.pixels[i]);
  };
  EXPECT_EQ(px(0, 0), 220);   // padding
  EXPECT_EQ(px(6, 6), 220);   // padding between tiles
  EXPECT_EQ(px(2, 2), 1);     // image 0, pixel (0,0), upscaled over 2x2
  EXPECT_EQ(px(3, 3), 1);
  EXPECT_EQ(px(4, 2), 2);     // image 0, pixel (0,1)
  EXPECT_EQ(px(2, 4), 3);     // image 0, pixel (1,0)
  EXPECT_EQ(px(5, 5), 4);     // image 0, pixel (1,1)
  EXPECT_EQ(px(8, 2), 11);    // image 1 starts at x = 2 + 4 + 2
  EXPECT_EQ(px(11, 5), 14);
  EXPECT_EQ(px(2, 8), 21);    // image 2, second row
  EXPECT_EQ(px(5, 11), 24);
  EXPECT_EQ(px(9, 9), 220);   // the empty fourth cell
  EXPECT_EQ(px(13, 13), 220);

  const auto bytes = ssdd::io::encode_image_grid(images.data(), 3, 1, 2, 2, 2, 2, 2);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::vector<uint8_t> on_disk(bytes.size() + 1);
  on_disk.resize(std::fread(on_disk.data(), 1, on_disk.size(), f));
  std::fclose(f);
  EXPECT_EQ(bytes, on_disk);
}

TEST(ImageGrid, RgbPlanarAndRowLabels) {
  // One 1x2 RGB image, planar: R plane {10, 20}, G plane {30, 40}, B plane {50, 60}.
  const std::vector<uint8_t> image = {10, 20, 30, 40, 50, 60};
  ssdd::io::GridOptions o;
  o.columns = 1;
  o.padding = 1;
  const Canvas c = ssdd::io::render_image_grid(image.data(), 1, 3, 1, 2, o);
  ASSERT_EQ(c.width(), 4);
  ASSERT_EQ(c.height(), 3);
  EXPECT_EQ(c.at(1, 1), (Rgb{10, 30, 50}));
  EXPECT_EQ(c.at(2, 1), (Rgb{20, 40, 60}));

  std::vector<uint8_t> digits(4 * 28 * 28, 200);
  o.columns = 2;
  o.scale = 2;
  o.padding = 2;
  o.row_labels = {"0\xC2\xB0", "real"};
  const Canvas labelled = ssdd::io::render_image_grid(digits.data(), 4, 1, 28, 28, o);
  EXPECT_GT(labelled.width(), 2 * 56 + 3 * 2);
  EXPECT_EQ(labelled.height(), 2 * 56 + 3 * 2);
  size_t ink = 0;
  for (int y = 0; y < labelled.height(); ++y) {
    for (int x = 0; x < labelled.width() - (2 * 56 + 3 * 2); ++x) ink += labelled.at(x, y) == ssdd::io::colors::kBlack;
  }
  EXPECT_GT(ink, 0u);
  EXPECT_THROW(ssdd::io::render_image_grid(digits.data(), 1, 2, 28, 28, o), ssdd::Error);
}
