#include "ssdd/io/image_decode.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "ssdd/core/error.h"
#include "ssdd/core/format.h"

namespace ssdd::io {
namespace {

// ---- PNG ---------------------------------------------------------------------------
// libpng reports errors by longjmp. Everything that must survive a longjmp lives in
// this struct, owned by the caller, so the frame that calls setjmp holds no C++ object
// whose destructor a longjmp could skip.
struct PngJob {
  const uint8_t* data = nullptr;
  size_t size = 0;
  size_t pos = 0;
  png_structp png = nullptr;
  png_infop info = nullptr;
  char message[256] = {0};
  bool too_large = false;
  int width = 0, height = 0, channels = 0;  // channels as stored after transforms (1-4)
  std::vector<uint8_t>* buffer = nullptr;
  std::vector<png_bytep>* rows = nullptr;
};

void png_on_error(png_structp png, png_const_charp msg) {
  auto* job = static_cast<PngJob*>(png_get_error_ptr(png));
  // format_to_n into the fixed buffer allocates nothing, as befits libpng's error path; it truncates.
  *fmt::format_to_n(job->message, sizeof(job->message) - 1, "{}", msg ? msg : "libpng error").out = '\0';
  png_longjmp(png, 1);
}

void png_on_warning(png_structp, png_const_charp) {}  // benign (e.g. bad ancillary chunk)

void png_read_from_memory(png_structp png, png_bytep out, png_size_t length) {
  auto* job = static_cast<PngJob*>(png_get_io_ptr(png));
  if (length > job->size - job->pos) png_error(png, "file is truncated");
  std::memcpy(out, job->data + job->pos, length);
  job->pos += length;
}

// Returns false on a libpng error (message in job->message).
bool run_png(PngJob* job) {
  if (setjmp(png_jmpbuf(job->png))) return false;
  png_structp png = job->png;
  png_infop info = job->info;
  png_set_read_fn(png, job, png_read_from_memory);
  png_read_info(png, info);
  const png_uint_32 w = png_get_image_width(png, info);
  const png_uint_32 h = png_get_image_height(png, info);
  if (w == 0 || h == 0 || w > static_cast<png_uint_32>(kMaxImageSide) ||
      h > static_cast<png_uint_32>(kMaxImageSide)) {
    job->width = static_cast<int>(w);
    job->height = static_cast<int>(h);
    job->too_large = true;
    return false;
  }
  const int color = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_scale_16(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  job->width = static_cast<int>(w);
  job->height = static_cast<int>(h);
  job->channels = png_get_channels(png, info);
  const size_t rowbytes = png_get_rowbytes(png, info);
  if (rowbytes != static_cast<size_t>(w) * job->channels) png_error(png, "unexpected row size");
  job->buffer->resize(rowbytes * h);
  job->rows->resize(h);
  for (png_uint_32 y = 0; y < h; ++y) (*job->rows)[y] = job->buffer->data() + y * rowbytes;
  png_read_image(png, job->rows->data());
  png_read_end(png, nullptr);
  return true;
}

DecodedImage decode_png(const uint8_t* data, size_t size, const std::string& name) {
  std::vector<uint8_t> buffer;
  std::vector<png_bytep> rows;
  PngJob job;
  job.data = data;
  job.size = size;
  job.buffer = &buffer;
  job.rows = &rows;
  job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, png_on_error, png_on_warning);
  if (!job.png) throw DataError(name, "a decodable PNG", "libpng could not start");
  job.info = png_create_info_struct(job.png);
  if (!job.info) {
    png_destroy_read_struct(&job.png, nullptr, nullptr);
    throw DataError(name, "a decodable PNG", "libpng could not start");
  }
  const bool ok = run_png(&job);
  png_destroy_read_struct(&job.png, &job.info, nullptr);
  if (job.too_large)
    throw DataError(name, "a PNG of at most " + std::to_string(kMaxImageSide) + "x" +
                              std::to_string(kMaxImageSide) + " pixels",
                    std::to_string(job.width) + "x" + std::to_string(job.height));
  if (!ok) throw DataError(name, "a decodable PNG", std::string("a broken one (") + job.message + ")");

  // Drop alpha (grey+alpha -> grey, RGBA -> RGB), as PIL's convert("RGB") does.
  DecodedImage out;
  out.width = job.width;
  out.height = job.height;
  const int c = job.channels;
  if (c == 1 || c == 3) {
    out.channels = c;
    out.pixels = std::move(buffer);
    return out;
  }
  out.channels = c == 2 ? 1 : 3;
  const size_t n = static_cast<size_t>(out.width) * out.height;
  out.pixels.resize(n * out.channels);
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < out.channels; ++k) out.pixels[i * out.channels + k] = buffer[i * c + k];
  return out;
}

// ---- JPEG --------------------------------------------------------------------------
struct JpegError {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void jpeg_on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings are silent, except a premature end of data: libjpeg would pad the image
// with grey, and a silently half-grey training image is worse than an error.
void jpeg_on_message(j_common_ptr cinfo, int level) {
  if (level < 0) {
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) jpeg_on_error(cinfo);
    cinfo->err->num_warnings++;
  }
}

struct JpegJob {
  const uint8_t* data = nullptr;
  size_t size = 0;
  jpeg_decompress_struct cinfo;
  JpegError err;
  bool created = false;
  bool too_large = false;
  bool cmyk = false;
  bool adobe_inverted = false;
  int width = 0, height = 0, channels = 0;  // channels as decoded (1, 3 or 4)
  std::vector<uint8_t>* buffer = nullptr;
};

bool run_jpeg(JpegJob* job) {
  jpeg_decompress_struct* cinfo = &job->cinfo;
  cinfo->err = jpeg_std_error(&job->err.pub);
  job->err.pub.error_exit = jpeg_on_error;
  job->err.pub.emit_message = jpeg_on_message;
  job->err.message[0] = '\0';
  if (setjmp(job->err.jump)) return false;
  jpeg_create_decompress(cinfo);
  job->created = true;
  jpeg_mem_src(cinfo, job->data, static_cast<unsigned long>(job->size));
  jpeg_read_header(cinfo, TRUE);
  job->width = static_cast<int>(cinfo->image_width);
  job->height = static_cast<int>(cinfo->image_height);
  if (cinfo->image_width > static_cast<JDIMENSION>(kMaxImageSide) ||
      cinfo->image_height > static_cast<JDIMENSION>(kMaxImageSide)) {
    job->too_large = true;
    return false;
  }
  if (cinfo->num_components == 1) {
    cinfo->out_color_space = JCS_GRAYSCALE;
  } else if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
    cinfo->out_color_space = JCS_CMYK;  // libjpeg cannot convert CMYK to RGB itself
    job->cmyk = true;
    job->adobe_inverted = cinfo->saw_Adobe_marker;
  } else {
    cinfo->out_color_space = JCS_RGB;
  }
  jpeg_start_decompress(cinfo);
  job->channels = cinfo->output_components;
  const size_t stride = static_cast<size_t>(cinfo->output_width) * cinfo->output_components;
  job->buffer->resize(stride * cinfo->output_height);
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = job->buffer->data() + stride * cinfo->output_scanline;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

DecodedImage decode_jpeg(const uint8_t* data, size_t size, const std::string& name) {
  std::vector<uint8_t> buffer;
  JpegJob job;
  job.data = data;
  job.size = size;
  job.buffer = &buffer;
  const bool ok = run_jpeg(&job);
  if (job.created) jpeg_destroy_decompress(&job.cinfo);
  if (job.too_large)
    throw DataError(name, "a JPEG of at most " + std::to_string(kMaxImageSide) + "x" +
                              std::to_string(kMaxImageSide) + " pixels",
                    std::to_string(job.width) + "x" + std::to_string(job.height));
  if (!ok) throw DataError(name, "a decodable JPEG", std::string("a broken one (") + job.err.message + ")");

  DecodedImage out;
  out.width = job.width;
  out.height = job.height;
  if (!job.cmyk) {
    out.channels = job.channels;
    out.pixels = std::move(buffer);
    return out;
  }
  // Adobe files store CMYK inverted (255 = no ink); plain files store ink amounts.
  out.channels = 3;
  const size_t n = static_cast<size_t>(out.width) * out.height;
  out.pixels.resize(n * 3);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = &buffer[i * 4];
    const int k = job.adobe_inverted ? p[3] : 255 - p[3];
    for (int ch = 0; ch < 3; ++ch) {
      const int v = job.adobe_inverted ? p[ch] : 255 - p[ch];
      out.pixels[i * 3 + ch] = static_cast<uint8_t>((v * k + 127) / 255);
    }
  }
  return out;
}

}  // namespace

ImageFormat sniff_format(const uint8_t* data, size_t size) {
  static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
  if (size >= 8 && std::memcmp(data, png_sig, 8) == 0) return ImageFormat::Png;
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) return ImageFormat::Jpeg;
  return ImageFormat::Unknown;
}

DecodedImage convert_channels(DecodedImage image, int channels) {
  if (channels == 0 || channels == image.channels) return image;
  if (channels != 1 && channels != 3)
    throw DataError("<channels>", "1 or 3 channels", std::to_string(channels));
  const size_t n = static_cast<size_t>(image.width) * image.height;
  std::vector<uint8_t> out(n * channels);
  if (image.channels == 1) {
    for (size_t i = 0; i < n; ++i) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = image.pixels[i];
  } else {
    for (size_t i = 0; i < n; ++i) {
      const uint8_t* p = &image.pixels[3 * i];
      // Fixed-point 0.299 R + 0.587 G + 0.114 B, rounded.
      out[i] = static_cast<uint8_t>((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
    }
  }
  image.pixels = std::move(out);
  image.channels = channels;
  return image;
}

DecodedImage decode_image(const uint8_t* data, size_t size, int channels, const std::string& name) {
  if (channels != 0 && channels != 1 && channels != 3)
    throw DataError(name, "a request for 0, 1 or 3 channels", std::to_string(channels));
  DecodedImage image;
  switch (sniff_format(data, size)) {
    case ImageFormat::Png:
      image = decode_png(data, size, name);
      break;
    case ImageFormat::Jpeg:
      image = decode_jpeg(data, size, name);
      break;
    default:
      throw DataError(name, "a PNG or JPEG image",
                      size == 0 ? std::string("an empty file") : std::string("neither signature"));
  }
  return convert_channels(std::move(image), channels);
}

DecodedImage decode_image(const std::vector<uint8_t>& bytes, int channels, const std::string& name) {
  return decode_image(bytes.data(), bytes.size(), channels, name);
}

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw DataError(path, "a readable file",
                    std::filesystem::exists(path, ec) ? "something that is not a regular file" : "no such file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw DataError(path, "a readable file", "none (missing or not readable)");
  const std::streamoff size = in.tellg();
  if (size < 0) throw DataError(path, "a readable file", "an unreadable one");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw DataError(path, std::to_string(size) + " readable bytes", "a read error");
  return bytes;
}

DecodedImage read_image(const std::string& path, int channels) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  return decode_image(bytes.data(), bytes.size(), channels, path);
}

}  // namespace ssdd::io
