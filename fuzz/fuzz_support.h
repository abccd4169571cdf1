// What every fuzz target shares. The contract each one checks: any input either parses
// or is refused with an ssdd::Error (the typed errors that name the file and what was
// wrong). Anything else is a bug: another exception escapes and aborts, and a crash,
// a sanitizer report or an allocation over libFuzzer's -malloc_limit_mb (a header
// trusted before it was checked) is reported by libFuzzer itself.
#pragma once
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "ssdd/core/error.h"

namespace ssdd::fuzz {

// Parser calls made and refused so far, for the replay tool's report (a seed that is
// refused keeps the fuzzer at the surface of its format).
struct Tally {
  long calls = 0;
  long refused = 0;
};
inline Tally& tally() {
  static Tally t;
  return t;
}

template <class Parse>
int accept_only_ssdd_errors(Parse&& parse) {
  ++tally().calls;
  try {
    parse();
  } catch (const ssdd::Error&) {
    ++tally().refused;  // a refusal, as the contract allows
  }
  return 0;
}

inline std::string as_string(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// A folder of this process's own (under $TMPDIR, else /tmp), removed at exit, for the
// readers that take paths.
class Scratch {
 public:
  static Scratch& get() {
    static Scratch scratch;
    return scratch;
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  // Writes `bytes` to `name` inside the folder and returns the file's path.
  std::string file(const std::string& name, const std::string& bytes) const {
    const std::string p = path(name);
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (!f) std::abort();
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size()) std::abort();
    std::fclose(f);
    return p;
  }

 private:
  Scratch() {
    const char* tmp = std::getenv("TMPDIR");
    dir_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/ssdd-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

}  // namespace ssdd::fuzz
