#include <gtest/gtest.h>

#include <cmath>

#include "data_fixtures.h"
#include "ssdd/core/error.h"
#include "ssdd/io/image_decode.h"

using namespace fixtures;
using ssdd::DataError;
namespace io = ssdd::io;

namespace {

double mean_abs_diff(const Bytes& a, const Bytes& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::abs(int(a[i]) - int(b[i]));
  return s / static_cast<double>(a.size());
}

// Rewrites an IHDR chunk's width/height and fixes its CRC, as a hostile file would.
Bytes patch_png_size(Bytes png, uint32_t w, uint32_t h) {
  // Signature (8) + length (4) + "IHDR" (4): width at 16, height at 20, CRC at 29.
  for (int i = 0; i < 4; ++i) {
    png[16 + i] = static_cast<uint8_t>(w >> (24 - 8 * i));
    png[20 + i] = static_cast<uint8_t>(h >> (24 - 8 * i));
  }
  const uLong crc = crc32(0, png.data() + 12, 17);
  for (int i = 0; i < 4; ++i) png[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  return png;
}

}  // namespace

TEST(ImageDecode, SniffsFormatFromBytes) {
  const Bytes png = encode_png(2, 2, 1, pattern(2, 2, 1));
  const Bytes jpg = encode_jpeg(8, 8, 3, pattern(8, 8, 3));
  EXPECT_EQ(io::sniff_format(png.data(), png.size()), io::ImageFormat::Png);
  EXPECT_EQ(io::sniff_format(jpg.data(), jpg.size()), io::ImageFormat::Jpeg);
  const Bytes junk = {'G', 'I', 'F', '8', '9', 'a'};
  EXPECT_EQ(io::sniff_format(junk.data(), junk.size()), io::ImageFormat::Unknown);
}

TEST(ImageDecode, PngGreyAndRgbAreExact) {
  const Bytes grey = pattern(5, 3, 1);
  auto g = io::decode_image(encode_png(5, 3, 1, grey));
  EXPECT_EQ(g.width, 5);
  EXPECT_EQ(g.height, 3);
  EXPECT_EQ(g.channels, 1);
  EXPECT_EQ(g.pixels, grey);

  const Bytes rgb = pattern(4, 6, 3);
  auto c = io::decode_image(encode_png(4, 6, 3, rgb));
  EXPECT_EQ(c.channels, 3);
  EXPECT_EQ(c.pixels, rgb);
}

TEST(ImageDecode, PngAlphaIsDropped) {
  const Bytes rgba = pattern(3, 2, 4);
  auto c = io::decode_image(encode_png(3, 2, 4, rgba));
  ASSERT_EQ(c.channels, 3);
  for (size_t i = 0; i < 6; ++i)
    for (int k = 0; k < 3; ++k) EXPECT_EQ(c.pixels[i * 3 + k], rgba[i * 4 + k]);

  const Bytes ga = pattern(3, 2, 2);
  auto g = io::decode_image(encode_png(3, 2, 2, ga));
  ASSERT_EQ(g.channels, 1);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(g.pixels[i], ga[i * 2]);
}

TEST(ImageDecode, PngPaletteBecomesRgb) {
  PngSpec s;
  s.width = 4;
  s.height = 1;
  s.color_type = PNG_COLOR_TYPE_PALETTE;
  s.palette = {{10, 20, 30}, {200, 100, 50}};
  s.rows = {0, 1, 1, 0};
  auto img = io::decode_image(encode_png(s));
  ASSERT_EQ(img.channels, 3);
  EXPECT_EQ(img.pixels, (Bytes{10, 20, 30, 200, 100, 50, 200, 100, 50, 10, 20, 30}));
}

TEST(ImageDecode, Png16BitIsScaledTo8Bit) {
  PngSpec s;
  s.width = 3;
  s.height = 1;
  s.color_type = PNG_COLOR_TYPE_RGB;
  s.bit_depth = 16;
  const Bytes want = {0, 1, 128, 200, 254, 255, 7, 77, 177};
  for (uint8_t v : want) {  // v * 257 is the exact 16-bit image of byte v
    const unsigned w = v * 257u;
    s.rows.push_back(static_cast<uint8_t>(w >> 8));
    s.rows.push_back(static_cast<uint8_t>(w & 0xff));
  }
  auto img = io::decode_image(encode_png(s));
  ASSERT_EQ(img.channels, 3);
  EXPECT_EQ(img.pixels, want);
}

TEST(ImageDecode, PngLowBitDepthGreyAndInterlacing) {
  PngSpec s;
  s.width = 8;
  s.height = 1;
  s.color_type = PNG_COLOR_TYPE_GRAY;
  s.bit_depth = 1;
  s.rows = {0xA5};  // 10100101
  auto img = io::decode_image(encode_png(s));
  ASSERT_EQ(img.channels, 1);
  EXPECT_EQ(img.pixels, (Bytes{255, 0, 255, 0, 0, 255, 0, 255}));

  PngSpec il;
  il.width = 9;
  il.height = 7;
  il.interlaced = true;
  il.rows = pattern(9, 7, 3, 4);
  EXPECT_EQ(io::decode_image(encode_png(il)).pixels, il.rows);
}

TEST(ImageDecode, JpegGreyAndRgbDecodeClosely) {
  // A smooth image: JPEG at quality 95 stays within a few levels of it.
  Bytes grey(16 * 16);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) grey[y * 16 + x] = static_cast<uint8_t>(40 + 8 * x + 4 * y);
  auto g = io::decode_image(encode_jpeg(16, 16, 1, grey));
  ASSERT_EQ(g.channels, 1);
  ASSERT_EQ(g.width, 16);
  EXPECT_LT(mean_abs_diff(g.pixels, grey), 2.0);

  Bytes rgb(16 * 16 * 3);
  for (size_t i = 0; i < grey.size(); ++i) {
    rgb[3 * i] = grey[i];
    rgb[3 * i + 1] = static_cast<uint8_t>(255 - grey[i]);
    rgb[3 * i + 2] = 128;
  }
  auto c = io::decode_image(encode_jpeg(16, 16, 3, rgb));
  ASSERT_EQ(c.channels, 3);
  EXPECT_LT(mean_abs_diff(c.pixels, rgb), 3.0);
}

TEST(ImageDecode, RequestedChannelsConvert) {
  const Bytes grey = pattern(4, 4, 1);
  auto three = io::decode_image(encode_png(4, 4, 1, grey), 3);
  ASSERT_EQ(three.channels, 3);
  for (size_t i = 0; i < grey.size(); ++i)
    for (int k = 0; k < 3; ++k) EXPECT_EQ(three.pixels[3 * i + k], grey[i]);

  const Bytes rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
  auto one = io::decode_image(encode_png(4, 1, 3, rgb), 1);
  ASSERT_EQ(one.channels, 1);
  EXPECT_EQ(one.pixels, (Bytes{76, 150, 29, 255}));  // 0.299, 0.587, 0.114 of 255, rounded

  EXPECT_THROW(io::decode_image(encode_png(4, 1, 3, rgb), 2), DataError);
}

TEST(ImageDecode, UndecodableBytesThrowDataError) {
  const Bytes junk = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_THROW(io::decode_image(junk, 0, "junk.png"), DataError);
  EXPECT_THROW(io::decode_image(Bytes{}, 0, "empty.png"), DataError);

  Bytes png = encode_png(16, 16, 3, pattern(16, 16, 3));
  Bytes cut(png.begin(), png.begin() + static_cast<long>(png.size() / 2));
  try {
    io::decode_image(cut, 0, "cut.png");
    FAIL() << "a truncated PNG decoded";
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), "cut.png");
    EXPECT_NE(std::string(e.what()).find("PNG"), std::string::npos) << e.what();
  }
  Bytes bad_crc = png;
  bad_crc[bad_crc.size() - 20] ^= 0xff;  // inside IDAT
  EXPECT_THROW(io::decode_image(bad_crc, 0, "crc.png"), DataError);

  Bytes jpg = encode_jpeg(32, 32, 3, pattern(32, 32, 3));
  Bytes jcut(jpg.begin(), jpg.begin() + static_cast<long>(jpg.size() / 2));
  EXPECT_THROW(io::decode_image(jcut, 0, "cut.jpg"), DataError);
  Bytes header_only(jpg.begin(), jpg.begin() + 4);
  EXPECT_THROW(io::decode_image(header_only, 0, "stub.jpg"), DataError);
}

TEST(ImageDecode, HostileDimensionsAreRefused) {
  const Bytes png = encode_png(2, 2, 3, pattern(2, 2, 3));
  try {
    io::decode_image(patch_png_size(png, 20000, 20000), 0, "huge.png");
    FAIL() << "a 20000x20000 header was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("16384"), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::decode_image(patch_png_size(png, 0x7fffffff, 0x7fffffff), 0, "huger.png"), DataError);

  // JPEG: patch the SOF0 frame header (FF C0, length, precision, height, width).
  Bytes jpg = encode_jpeg(8, 8, 3, pattern(8, 8, 3));
  size_t sof = 0;
  for (size_t i = 2; i + 1 < jpg.size(); ++i)
    if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) {
      sof = i;
      break;
    }
  ASSERT_GT(sof, 0u);
  jpg[sof + 5] = 0xea;  // height 60000
  jpg[sof + 6] = 0x60;
  jpg[sof + 7] = 0xea;  // width 60000
  jpg[sof + 8] = 0x60;
  try {
    io::decode_image(jpg, 0, "huge.jpg");
    FAIL() << "a 60000x60000 JPEG header was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("16384"), std::string::npos) << e.what();
  }
}

TEST(ImageDecode, ReadImageNamesTheFile) {
  TempDir dir;
  const std::string good = dir.path() + "/a.png";
  write_bytes(good, encode_png(3, 3, 3, pattern(3, 3, 3)));
  EXPECT_EQ(io::read_image(good).pixels, pattern(3, 3, 3));
  EXPECT_EQ(io::read_image(good, 1).channels, 1);

  const std::string missing = dir.path() + "/missing.png";
  try {
    io::read_image(missing);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), missing);
  }
  const std::string broken = dir.path() + "/broken.jpg";
  write_text(broken, "not an image");
  try {
    io::read_image(broken);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), broken);
  }
  EXPECT_THROW(io::read_image(dir.path()), DataError);  // a directory
}
