// Reading a file a user names (a config, a distilled set, an archive) without trusting
// what the path is: only a regular file is opened (a FIFO would block the open, /dev/zero
// never ends), and only up to a cap of bytes, so a wrong path fails at once with one line
// instead of hanging or eating memory.
#pragma once
#include <cstdint>
#include <string>

namespace ssdd::io {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr uint64_t kMaxTextFileBytes = 64 * kMiB;          // JSON and TOML: configs, run records, results
constexpr uint64_t kMaxArchiveBytes = uint64_t{64} << 30;  // torch.save archives (sets, weights, caches)
constexpr int kMaxNestingDepth = 64;                       // of JSON and TOML values (real files: < 10)

// The whole content of `path`, which must be a regular file (symbolic links followed) of at
// most `max_bytes`. DataError naming the path and `what` (e.g. "a TOML config") otherwise:
// missing, unreadable, a directory, FIFO, device or socket, or too large.
std::string read_regular_file(const std::string& path, uint64_t max_bytes, const std::string& what);

}  // namespace ssdd::io
