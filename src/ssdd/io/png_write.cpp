#include "ssdd/io/png_write.h"

#include <png.h>

#include <csetjmp>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/io/atomic_file.h"

namespace ssdd::io {
namespace {

const char* const kMemoryTarget = "PNG encoding";

// libpng reports errors by longjmp; this carries the message out of the callback.
struct PngContext {
  std::vector<uint8_t>* out;
  char message[256];
};

// Writes into ctx->message, truncating. format_to_n allocates nothing, so this is safe on
// libpng's error path (an out-of-memory one too), where nothing may throw through its C frames.
template <typename... Args>
void set_message(PngContext* ctx, fmt::format_string<Args...> format, Args&&... args) {
  *fmt::format_to_n(ctx->message, sizeof(ctx->message) - 1, format, std::forward<Args>(args)...).out = '\0';
}

[[noreturn]] void on_error(png_structp png, png_const_charp message) {
  auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
  set_message(ctx, "libpng: {}", message ? message : "unknown error");
  std::longjmp(png_jmpbuf(png), 1);
}

void on_warning(png_structp, png_const_charp) {}  // warnings do not stop the encode

void on_write(png_structp png, png_bytep data, size_t length) {
  auto* ctx = static_cast<PngContext*>(png_get_io_ptr(png));
  bool ok = true;
  try {
    ctx->out->insert(ctx->out->end(), data, data + length);
  } catch (const std::bad_alloc&) {
    ok = false;  // an exception must not unwind through libpng's C frames
  }
  if (!ok) png_error(png, "out of memory");
}

void on_flush(png_structp) {}

// Kept free of objects with destructors: a longjmp back into this frame skips them.
bool run_libpng(PngContext* ctx, int width, int height, int channels, png_bytep* rows) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
  if (png == nullptr) {
    set_message(ctx, "cannot create the libpng writer");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  if (info == nullptr) {
    png_destroy_write_struct(&png, nullptr);
    set_message(ctx, "cannot create the libpng info struct");
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  const int color_type = channels == 1   ? PNG_COLOR_TYPE_GRAY
                         : channels == 3 ? PNG_COLOR_TYPE_RGB
                                         : PNG_COLOR_TYPE_RGB_ALPHA;
  png_set_write_fn(png, ctx, on_write, on_flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8, color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

std::vector<uint8_t> encode_or_throw(const std::string& target, const uint8_t* pixels, int width, int height,
                                     int channels) {
  if (pixels == nullptr) throw IoError(target, "no pixel data");
  if (width <= 0 || height <= 0) {
    throw IoError(target, "image size must be positive, got " + std::to_string(width) + "x" + std::to_string(height));
  }
  if (channels != 1 && channels != 3 && channels != 4) {
    throw IoError(target, "channels must be 1, 3 or 4, got " + std::to_string(channels));
  }
  const size_t stride = static_cast<size_t>(width) * static_cast<size_t>(channels);
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (size_t y = 0; y < rows.size(); ++y) rows[y] = const_cast<png_bytep>(pixels + y * stride);

  std::vector<uint8_t> out;
  out.reserve(stride * rows.size() / 4 + 1024);
  PngContext ctx{&out, {}};
  if (!run_libpng(&ctx, width, height, channels, rows.data())) throw IoError(target, ctx.message);
  return out;
}

}  // namespace

std::vector<uint8_t> encode_png(const uint8_t* pixels, int width, int height, int channels) {
  return encode_or_throw(kMemoryTarget, pixels, width, height, channels);
}

void write_png(const std::string& path, const uint8_t* pixels, int width, int height, int channels) {
  write_png_bytes(path, encode_or_throw(path, pixels, width, height, channels));
}

void write_png_bytes(const std::string& path, const std::vector<uint8_t>& png) {
  // write_file_atomic writes path + ".tmp.<pid>", checks every write, fsync and
  // close, renames, and removes the temporary file on any failure.
  write_file_atomic(path, std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

std::string base64(const std::vector<uint8_t>& bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (rest == 2) v |= uint32_t{bytes[i + 1]} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string png_data_uri(const std::vector<uint8_t>& png) { return "data:image/png;base64," + base64(png); }

}  // namespace ssdd::io
