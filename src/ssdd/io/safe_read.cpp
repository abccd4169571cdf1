#include "ssdd/io/safe_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ssdd/core/error.h"

namespace ssdd::io {
namespace {

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string size_text(uint64_t bytes) {
  if (bytes >= 1024 * kMiB) return std::to_string(bytes / (1024 * kMiB)) + " GiB";
  return bytes >= kMiB ? std::to_string(bytes / kMiB) + " MiB" : std::to_string(bytes) + " bytes";
}

}  // namespace

std::string read_regular_file(const std::string& path, uint64_t max_bytes, const std::string& what) {
  const std::string expected = what + " (a regular file of at most " + size_text(max_bytes) + ")";
  auto refuse_kind = [&](const struct stat& st) {
    if (!S_ISREG(st.st_mode)) throw DataError(path, expected, kind_of(st.st_mode));
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
      throw DataError(path, expected, size_text(static_cast<uint64_t>(st.st_size)));
  };
  // stat before open: opening a FIFO for reading blocks until a writer comes.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw DataError(path, expected, std::string("none (") + std::strerror(errno) + ")");
  refuse_kind(st);
  // O_NONBLOCK: should the path turn into a FIFO between stat and open, the open still returns.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw DataError(path, expected, std::string("an unreadable file (") + std::strerror(errno) + ")");
  std::string bytes;
  try {
    if (::fstat(fd, &st) != 0)
      throw DataError(path, expected, std::string("a file fstat fails on (") + std::strerror(errno) + ")");
    refuse_kind(st);
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    // Reads to the end, or one byte past the cap when the file grows while read.
    for (;;) {
      if (done == bytes.size()) {
        if (bytes.size() > max_bytes) throw DataError(path, expected, "a file growing past the cap while read");
        bytes.resize(std::min<uint64_t>(max_bytes + 1, std::max<uint64_t>(2 * bytes.size(), 4096)));
      }
      const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw DataError(path, expected, std::string("a read error (") + std::strerror(errno) + ")");
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    bytes.resize(done);
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return bytes;
}

}  // namespace ssdd::io
