// A stable 64-bit content hash (FNV-1a) for config hashes and cache keys: the same
// bytes give the same hex string on every platform and build.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace ssdd {

inline uint64_t fnv1a64(std::string_view bytes, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

inline std::string hash_hex(std::string_view bytes) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(fnv1a64(bytes)));
  return out;
}

}  // namespace ssdd
