// SHA-256 of a file's bytes (OpenSSL), the digest a manifest records for a shipped or
// imported teacher: the hash people compare with `sha256sum`, unlike io/tensor_checksum.h's
// content hash, which ignores the archive's layout.
#pragma once
#include <cstdint>
#include <string>

namespace ssdd::io {

struct FileDigest {
  std::string sha256;  // 64 lowercase hex digits
  uint64_t bytes = 0;
};

// Streams the file; DataError naming it when it is missing or unreadable.
FileDigest sha256_of_file(const std::string& path);

}  // namespace ssdd::io
