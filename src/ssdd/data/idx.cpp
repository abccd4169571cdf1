#include "ssdd/data/idx.h"

#include <cstdio>
#include <filesystem>

#include <zlib.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/format.h"

namespace ssdd::data {
namespace {

// Deflate cannot expand data by more than about 1032:1, so a gzip file of S bytes can
// never hold more than this many decompressed bytes: a header claiming more is a lie
// and is refused before anything is allocated.
uint64_t max_gzip_payload(uint64_t compressed) { return compressed * 1032 + 1024; }

// A plain or gzip file read front to back.
class IdxSource {
 public:
  explicit IdxSource(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      throw DataError(path, "an IDX file", std::filesystem::exists(path, ec) ? "not a regular file" : "no such file");
    file_size_ = std::filesystem::file_size(path, ec);
    if (ec) throw DataError(path, "a readable IDX file", "an unreadable one (" + ec.message() + ")");
    file_ = std::fopen(path.c_str(), "rb");
    if (!file_) throw DataError(path, "a readable IDX file", "one that cannot be opened");
    unsigned char magic[2] = {0, 0};
    const size_t got = std::fread(magic, 1, 2, file_);
    gzip_ = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    if (gzip_) {
      std::fclose(file_);
      file_ = nullptr;
      gz_ = gzopen(path.c_str(), "rb");
      if (!gz_) throw DataError(path, "a readable gzip file", "one that cannot be opened");
      gzbuffer(gz_, 1 << 18);
    } else {
      std::rewind(file_);
    }
  }
  ~IdxSource() {
    if (file_) std::fclose(file_);
    if (gz_) gzclose(gz_);
  }
  IdxSource(const IdxSource&) = delete;
  IdxSource& operator=(const IdxSource&) = delete;

  bool gzip() const { return gzip_; }
  uint64_t file_size() const { return file_size_; }
  uint64_t max_total() const { return gzip_ ? max_gzip_payload(file_size_) : file_size_; }

  // Reads up to n bytes; fewer only at the end of the data.
  size_t read(void* dst, size_t n) {
    auto* out = static_cast<char*>(dst);
    size_t done = 0;
    while (done < n) {
      if (!gzip_) {
        const size_t got = std::fread(out + done, 1, n - done, file_);
        done += got;
        if (got == 0) break;
        continue;
      }
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, size_t{1} << 30));
      const int got = gzread(gz_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        const char* msg = gzerror(gz_, &code);
        if (code == Z_BUF_ERROR) break;  // compressed stream cut short: report as truncated
        throw DataError(path_, "valid gzip data", std::string("a corrupt stream (") + (msg ? msg : "?") + ")");
      }
      if (got == 0) {
        int code = 0;
        const char* msg = gzerror(gz_, &code);
        if (code != Z_OK && code != Z_BUF_ERROR)
          throw DataError(path_, "valid gzip data", std::string("a corrupt stream (") + (msg ? msg : "?") + ")");
        break;
      }
      done += static_cast<size_t>(got);
    }
    return done;
  }

  uint32_t read_u32_be(const char* what) {
    unsigned char b[4];
    const size_t got = read(b, 4);
    if (got != 4)
      throw DataError(path_, std::string("a complete IDX header (") + what + ")",
                      "a truncated file (" + std::to_string(offset_ + got) + " bytes" +
                          (gzip_ ? " after decompression)" : ")"));
    offset_ += 4;
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  }

 private:
  std::string path_;
  FILE* file_ = nullptr;
  gzFile gz_ = nullptr;
  bool gzip_ = false;
  uint64_t file_size_ = 0;
  uint64_t offset_ = 0;
};

std::string hex32(uint32_t v) {
  return fmt::format("0x{:08x}", v);
}

void check_magic(const std::string& path, uint32_t found, uint32_t expected, const char* what) {
  if (found == expected) return;
  std::string hint;
  if (found == 0x00000801) hint = " (an IDX label file)";
  if (found == 0x00000803) hint = " (an IDX image file)";
  throw DataError(path, "IDX magic " + hex32(expected) + " (" + what + ")", hex32(found) + hint);
}

// Refuses a header whose claimed size the file cannot hold, before any allocation.
void check_claim(const std::string& path, const IdxSource& src, uint64_t header, uint64_t payload,
                 const std::string& shape) {
  const uint64_t total = header + payload;
  if (total > src.max_total()) {
    if (src.gzip())
      throw DataError(path, "a header consistent with the file size",
                      "a header claiming " + shape + " (" + std::to_string(total) + " bytes) in a " +
                          std::to_string(src.file_size()) + "-byte gzip file");
    throw DataError(path, std::to_string(total) + " bytes (" + std::to_string(header) + "-byte header + " + shape + ")",
                    std::to_string(src.file_size()) + " bytes (truncated)");
  }
}

// Reads the payload straight into `dst`; short or overlong data is an error.
void read_payload(const std::string& path, IdxSource& src, uint64_t header, void* dst, uint64_t payload,
                  const std::string& shape) {
  const size_t got = src.read(dst, payload);
  const std::string unit = src.gzip() ? " bytes after decompression" : " bytes";
  if (got < payload)
    throw DataError(path, std::to_string(header + payload) + unit + " (" + std::to_string(header) + "-byte header + " + shape + ")",
                    std::to_string(header + got) + unit + " (truncated)");
  char extra;
  if (src.read(&extra, 1) != 0)
    throw DataError(path, std::to_string(header + payload) + unit + " (" + shape + ")", "more (trailing data)");
}

uint64_t checked_mul(const std::string& path, uint64_t a, uint64_t b) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw DataError(path, "a sane IDX header", "sizes that overflow 64 bits");
  return r;
}

}  // namespace

ImageSet read_idx_images(const std::string& path) {
  IdxSource src(path);
  check_magic(path, src.read_u32_be("magic"), 0x00000803, "uint8 images, 3 dimensions");
  const uint64_t n = src.read_u32_be("image count");
  const uint64_t rows = src.read_u32_be("rows");
  const uint64_t cols = src.read_u32_be("columns");
  if (n == 0 || rows == 0 || cols == 0)
    throw DataError(path, "non-zero image count and size",
                    std::to_string(n) + " images of " + std::to_string(rows) + "x" + std::to_string(cols));
  const uint64_t payload = checked_mul(path, checked_mul(path, n, rows), cols);
  const std::string shape = std::to_string(n) + " images of " + std::to_string(rows) + "x" + std::to_string(cols);
  check_claim(path, src, 16, payload, shape);

  ImageSet set;
  set.images = torch::empty({static_cast<int64_t>(n), 1, static_cast<int64_t>(rows), static_cast<int64_t>(cols)},
                            torch::kUInt8);
  read_payload(path, src, 16, set.images.data_ptr<uint8_t>(), payload, shape);
  return set;
}

at::Tensor read_idx_labels(const std::string& path) {
  IdxSource src(path);
  check_magic(path, src.read_u32_be("magic"), 0x00000801, "uint8 labels, 1 dimension");
  const uint64_t n = src.read_u32_be("label count");
  if (n == 0) throw DataError(path, "at least one label", "0");
  const std::string shape = std::to_string(n) + " labels";
  check_claim(path, src, 8, n, shape);
  at::Tensor bytes = torch::empty({static_cast<int64_t>(n)}, torch::kUInt8);
  read_payload(path, src, 8, bytes.data_ptr<uint8_t>(), n, shape);
  return bytes.to(torch::kLong);
}

ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  ImageSet set = read_idx_images(images_path);
  at::Tensor labels = read_idx_labels(labels_path);
  if (labels.size(0) != set.size())
    throw DataError(images_path + " + " + labels_path, "as many labels as images",
                    std::to_string(set.size()) + " images and " + std::to_string(labels.size(0)) + " labels");
  set.labels = labels;
  set.num_classes = labels.max().item<int64_t>() + 1;
  return set;
}

}  // namespace ssdd::data
