// Writers for the on-disk formats the data readers accept (IDX, gzip, PNG, JPEG, CIFAR
// records), so the reader tests run on small files made on the spot. Header-only so
// that it builds with any SSDD_TEST_FILTER.
#pragma once
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "test_util.h"

namespace fixtures {

using Bytes = std::vector<uint8_t>;

inline void write_bytes(const std::string& path, const Bytes& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, Bytes(text.begin(), text.end()));
}

inline Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// gzip through zlib's gz* interface, as gzip(1) would write it.
inline void write_gzip(const std::string& path, const Bytes& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot gzopen " + path);
  if (!bytes.empty() && gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) != static_cast<int>(bytes.size()))
    throw std::runtime_error("gzwrite failed for " + path);
  gzclose(f);
}

inline void put_u32_be(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}

inline Bytes idx_images(uint32_t n, uint32_t rows, uint32_t cols, const Bytes& pixels) {
  Bytes b;
  put_u32_be(b, 0x00000803);
  put_u32_be(b, n);
  put_u32_be(b, rows);
  put_u32_be(b, cols);
  b.insert(b.end(), pixels.begin(), pixels.end());
  return b;
}

inline Bytes idx_labels(const Bytes& labels) {
  Bytes b;
  put_u32_be(b, 0x00000801);
  put_u32_be(b, static_cast<uint32_t>(labels.size()));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

// A deterministic, mildly smooth test pattern, H x W x C.
inline Bytes pattern(int w, int h, int c, int seed = 0) {
  Bytes p(static_cast<size_t>(w) * h * c);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k)
        p[(static_cast<size_t>(y) * w + x) * c + k] = static_cast<uint8_t>((x * 7 + y * 5 + k * 60 + seed * 31) % 256);
  return p;
}

inline Bytes solid(int w, int h, int c, std::vector<uint8_t> value) {
  Bytes p(static_cast<size_t>(w) * h * c);
  for (size_t i = 0; i < p.size(); ++i) p[i] = value[i % c];
  return p;
}

// ---- PNG -----------------------------------------------------------------------------
struct PngSpec {
  int width = 0, height = 0;
  int color_type = PNG_COLOR_TYPE_RGB;  // GRAY, GRAY_ALPHA, RGB, RGB_ALPHA or PALETTE
  int bit_depth = 8;                    // 1, 2, 4, 8 or 16
  bool interlaced = false;
  std::vector<png_color> palette;       // for PALETTE
  // Row-major samples; for bit_depth 16 each sample is two bytes big-endian, for depths
  // below 8 samples are packed as PNG packs them.
  Bytes rows;
};

namespace detail {
inline void png_append(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}
inline void png_flush(png_structp) {}
inline bool png_encode(const PngSpec* s, Bytes* out, png_structp png, png_infop info) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, out, png_append, png_flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(s->width), static_cast<png_uint_32>(s->height), s->bit_depth,
               s->color_type, s->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (s->color_type == PNG_COLOR_TYPE_PALETTE)
    png_set_PLTE(png, info, s->palette.data(), static_cast<int>(s->palette.size()));
  png_write_info(png, info);
  const size_t stride = s->rows.size() / static_cast<size_t>(s->height);
  std::vector<png_bytep> rows(static_cast<size_t>(s->height));
  for (int y = 0; y < s->height; ++y) rows[y] = const_cast<png_bytep>(s->rows.data() + y * stride);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  return true;
}
}  // namespace detail

inline Bytes encode_png(const PngSpec& spec) {
  Bytes out;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  const bool ok = detail::png_encode(&spec, &out, png, info);
  png_destroy_write_struct(&png, &info);
  if (!ok) throw std::runtime_error("png encoding failed");
  return out;
}

// 8-bit grey (c = 1), grey+alpha (2), RGB (3) or RGBA (4).
inline Bytes encode_png(int w, int h, int c, const Bytes& pixels) {
  static const int types[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                              PNG_COLOR_TYPE_RGB_ALPHA};
  PngSpec s;
  s.width = w;
  s.height = h;
  s.color_type = types[c];
  s.rows = pixels;
  return encode_png(s);
}

// ---- JPEG ----------------------------------------------------------------------------
namespace detail {
struct JpegFail {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
};
[[noreturn]] inline void jpeg_fail(j_common_ptr cinfo) { std::longjmp(reinterpret_cast<JpegFail*>(cinfo->err)->jump, 1); }
struct JpegEncodeJob {
  jpeg_compress_struct cinfo;
  JpegFail err;
  unsigned char* mem = nullptr;
  unsigned long size = 0;
};
inline bool jpeg_encode(JpegEncodeJob* job, int w, int h, int c, const uint8_t* pixels, int quality) {
  job->cinfo.err = jpeg_std_error(&job->err.pub);
  job->err.pub.error_exit = jpeg_fail;
  if (setjmp(job->err.jump)) return false;
  jpeg_create_compress(&job->cinfo);
  jpeg_mem_dest(&job->cinfo, &job->mem, &job->size);
  job->cinfo.image_width = static_cast<JDIMENSION>(w);
  job->cinfo.image_height = static_cast<JDIMENSION>(h);
  job->cinfo.input_components = c;
  job->cinfo.in_color_space = c == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&job->cinfo);
  jpeg_set_quality(&job->cinfo, quality, TRUE);
  jpeg_start_compress(&job->cinfo, TRUE);
  while (job->cinfo.next_scanline < job->cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels + static_cast<size_t>(job->cinfo.next_scanline) * w * c);
    jpeg_write_scanlines(&job->cinfo, &row, 1);
  }
  jpeg_finish_compress(&job->cinfo);
  return true;
}
}  // namespace detail

inline Bytes encode_jpeg(int w, int h, int c, const Bytes& pixels, int quality = 95) {
  detail::JpegEncodeJob job;
  const bool ok = detail::jpeg_encode(&job, w, h, c, pixels.data(), quality);
  jpeg_destroy_compress(&job.cinfo);
  Bytes out;
  if (ok) out.assign(job.mem, job.mem + job.size);
  std::free(job.mem);
  if (!ok) throw std::runtime_error("jpeg encoding failed");
  return out;
}

// ---- CIFAR records ---------------------------------------------------------------------
// One record: the label bytes, then 1024 R, 1024 G, 1024 B. Pixel (ch, y, x) of record
// `seed` is cifar_pixel(seed, ch, y, x).
inline uint8_t cifar_pixel(int seed, int ch, int y, int x) {
  return static_cast<uint8_t>((seed * 13 + ch * 71 + y * 3 + x) % 256);
}
inline Bytes cifar_record(const Bytes& label_bytes, int seed) {
  Bytes r = label_bytes;
  for (int ch = 0; ch < 3; ++ch)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) r.push_back(cifar_pixel(seed, ch, y, x));
  return r;
}

// Points SSDD_CACHE at a private folder for the lifetime of the object (then restores it),
// so tests never touch the user's real cache.
class ScopedCache {
 public:
  ScopedCache() {
    if (const char* v = std::getenv("SSDD_CACHE")) old_ = v, had_ = true;
    ::setenv("SSDD_CACHE", dir_.path().c_str(), 1);
  }
  ~ScopedCache() {
    if (had_)
      ::setenv("SSDD_CACHE", old_.c_str(), 1);
    else
      ::unsetenv("SSDD_CACHE");
  }
  ScopedCache(const ScopedCache&) = delete;
  ScopedCache& operator=(const ScopedCache&) = delete;
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::string old_;
  bool had_ = false;
};

}  // namespace fixtures
