#include "ssdd/data/cache.h"

#include "ssdd/core/format.h"
#include "ssdd/core/hash.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <torch/torch.h>

namespace fs = std::filesystem;

namespace ssdd::data {
namespace {

constexpr char kMagic[8] = {'S', 'S', 'D', 'D', 'S', 'E', 'T', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kByteOrder = 0x01020304;  // written natively; a foreign-endian file misses
constexpr uint64_t kMaxNames = 1u << 20;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

uint32_t crc_update(uint32_t crc, const void* data, size_t size) {
  return static_cast<uint32_t>(crc32_z(crc, static_cast<const Bytef*>(data), size));
}

class Writer {
 public:
  explicit Writer(std::FILE* f) : f_(f) {}
  void bytes(const void* data, size_t size) {
    if (size == 0) return;
    crc_ = crc_update(crc_, data, size);
    ok_ = ok_ && std::fwrite(data, 1, size, f_) == size;
  }
  template <typename T>
  void pod(T v) { bytes(&v, sizeof v); }
  void str(const std::string& s) {
    pod<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  uint32_t crc() const { return crc_; }
  bool ok() const { return ok_; }

 private:
  std::FILE* f_;
  uint32_t crc_ = 0;
  bool ok_ = true;
};

class Reader {
 public:
  Reader(std::FILE* f, uint64_t size) : f_(f), left_(size) {}
  bool bytes(void* out, uint64_t size) {
    if (size > left_) return false;
    if (size > 0 && std::fread(out, 1, size, f_) != size) return false;
    crc_ = crc_update(crc_, out, size);
    left_ -= size;
    return true;
  }
  template <typename T>
  bool pod(T& v) { return bytes(&v, sizeof v); }
  bool str(std::string& s) {
    uint64_t n = 0;
    if (!pod(n) || n > left_) return false;
    s.resize(n);
    return bytes(s.data(), n);
  }
  uint64_t left() const { return left_; }
  uint32_t crc() const { return crc_; }

 private:
  std::FILE* f_;
  uint64_t left_;
  uint32_t crc_ = 0;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

}  // namespace

std::string cache_dir() {
  if (std::string v = env("SSDD_CACHE"); !v.empty()) return v;
  if (std::string v = env("XDG_CACHE_HOME"); !v.empty()) return (fs::path(v) / "ssdd").string();
  if (std::string v = env("HOME"); !v.empty()) return (fs::path(v) / ".cache" / "ssdd").string();
  std::error_code ec;
  return (fs::temp_directory_path(ec) / "ssdd-cache").string();
}

std::string cache_file(const std::string& key) {
  return (fs::path(cache_dir()) / "sets" / fmt::format("{:016x}.ssddset", fnv1a64(key))).string();
}

bool save_image_set(const std::string& path, const std::string& key, const ImageSet& set) {
  if (!set.images.defined() || set.images.dim() != 4) return false;
  const at::Tensor images = set.images.to(torch::kCPU, torch::kUInt8).contiguous();
  const at::Tensor labels = set.has_labels() ? set.labels.to(torch::kCPU, torch::kLong).contiguous() : at::Tensor();
  if (labels.defined() && (labels.dim() != 1 || labels.size(0) != images.size(0))) return false;

  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  File f(std::fopen(tmp.c_str(), "wb"));
  if (!f) return false;
  std::fwrite(kMagic, 1, sizeof kMagic, f.get());
  Writer w(f.get());
  w.pod(kVersion);
  w.pod(kByteOrder);
  w.str(key);
  for (int d = 0; d < 4; ++d) w.pod<int64_t>(images.size(d));
  w.pod<int64_t>(set.num_classes);
  w.pod<uint8_t>(labels.defined() ? 1 : 0);
  w.pod<uint64_t>(set.class_names.size());
  for (const auto& name : set.class_names) w.str(name);
  w.bytes(images.data_ptr<uint8_t>(), static_cast<size_t>(images.numel()));
  if (labels.defined()) w.bytes(labels.data_ptr<int64_t>(), static_cast<size_t>(labels.numel()) * sizeof(int64_t));
  const uint32_t crc = w.crc();
  bool ok = w.ok() && std::fwrite(&crc, sizeof crc, 1, f.get()) == 1;
  ok = (std::fclose(f.release()) == 0) && ok;
  if (ok) {
    fs::rename(tmp, path, ec);
    ok = !ec;
  }
  if (!ok) fs::remove(tmp, ec);
  return ok;
}

std::optional<ImageSet> load_image_set(const std::string& path, const std::string& key) {
  std::error_code ec;
  const uint64_t file_size = fs::file_size(path, ec);
  if (ec || file_size < sizeof kMagic + 4) return std::nullopt;
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return std::nullopt;
  char magic[sizeof kMagic];
  if (std::fread(magic, 1, sizeof magic, f.get()) != sizeof magic || std::memcmp(magic, kMagic, sizeof magic) != 0)
    return std::nullopt;
  Reader r(f.get(), file_size - sizeof kMagic - 4);  // the trailing CRC is read separately

  uint32_t version = 0, order = 0;
  std::string stored_key;
  if (!r.pod(version) || version != kVersion || !r.pod(order) || order != kByteOrder) return std::nullopt;
  if (!r.str(stored_key) || stored_key != key) return std::nullopt;
  int64_t dims[4];
  int64_t num_classes = 0;
  uint8_t has_labels = 0;
  uint64_t n_names = 0;
  for (auto& d : dims)
    if (!r.pod(d) || d < 0) return std::nullopt;
  if (!r.pod(num_classes) || !r.pod(has_labels) || has_labels > 1 || !r.pod(n_names) || n_names > kMaxNames)
    return std::nullopt;
  ImageSet set;
  set.num_classes = num_classes;
  for (uint64_t i = 0; i < n_names; ++i) {
    std::string name;
    if (!r.str(name)) return std::nullopt;
    set.class_names.push_back(std::move(name));
  }
  // The sizes the header claims must match the file exactly before anything is allocated.
  uint64_t numel = 1;
  for (int64_t d : dims)
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(d), &numel)) return std::nullopt;
  const uint64_t label_bytes = has_labels ? static_cast<uint64_t>(dims[0]) * sizeof(int64_t) : 0;
  if (numel > r.left() || label_bytes != r.left() - numel) return std::nullopt;

  set.images = torch::empty({dims[0], dims[1], dims[2], dims[3]}, torch::kUInt8);
  if (!r.bytes(set.images.data_ptr<uint8_t>(), numel)) return std::nullopt;
  if (has_labels) {
    set.labels = torch::empty({dims[0]}, torch::kLong);
    if (!r.bytes(set.labels.data_ptr<int64_t>(), label_bytes)) return std::nullopt;
  }
  uint32_t crc = 0;
  if (std::fread(&crc, sizeof crc, 1, f.get()) != 1 || crc != r.crc()) return std::nullopt;
  return set;
}

ImageSet cached(const std::string& key, const std::function<ImageSet()>& load) {
  const std::string path = cache_file(key);
  if (auto hit = load_image_set(path, key)) return std::move(*hit);
  ImageSet set = load();
  if (!save_image_set(path, key, set)) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      std::cerr << "ssdd: warning: could not write the data cache " << path
                << " (set SSDD_CACHE to a writable folder); data will be decoded again next time\n";
  }
  return set;
}

std::string source_fingerprint(const std::vector<std::string>& paths) {
  // Entries are sorted so the digest does not depend on directory iteration order.
  std::vector<std::string> records;
  auto record = [&](const fs::path& p) {
    // One stat per file: data sets with 10^5 images are fingerprinted on every load. The
    // change time and inode are in too: `touch -r` can restore an edited file's mtime, but
    // not its ctime, so an edit of the same size is never served from the decoded cache
    // (issue 27). Unpacking the same files anew only costs one decode: the stage hashes
    // take the decoded content's digest (identity.h), which is unchanged.
    struct stat st {};
    std::string r = p.string();
    if (::stat(r.c_str(), &st) == 0) {
      r += '\0' + std::to_string(st.st_size) + '\0' + std::to_string(st.st_mtim.tv_sec) + '.' +
           std::to_string(st.st_mtim.tv_nsec) + '\0' + std::to_string(st.st_ctim.tv_sec) + '.' +
           std::to_string(st.st_ctim.tv_nsec) + '\0' + std::to_string(st.st_ino);
    }
    records.push_back(std::move(r));
  };
  for (const auto& path : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (!fs::exists(st)) {
      records.push_back(path + '\0' + "missing");
    } else if (fs::is_directory(st)) {
      for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code ec2;
        if (it->is_regular_file(ec2)) record(it->path());
      }
    } else {
      record(path);
    }
  }
  std::sort(records.begin(), records.end());
  uint64_t h = fnv1a64("");
  for (const auto& r : records) {
    h = fnv1a64(r, h);
    h = fnv1a64("\n", h);
  }
  return fmt::format("{:016x}/{}", h, records.size());
}

}  // namespace ssdd::data
