// The `resolution` data option every stage config has (issue 24): the square side its
// data set is read at, resized once when loaded (data/resize.h); 0 = the data set's own.
// A config at 0 writes no "resolution" key, so configs, stage hashes and teacher ids made
// before the option existed stay current (docs/decisions.md).
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/core/error.h"

namespace ssdd::data {

constexpr int64_t kMaxResolution = 16384;

// 0 .. kMaxResolution, else ConfigError naming `where`.
inline void check_resolution(const std::string& where, int64_t resolution) {
  if (resolution < 0 || resolution > kMaxResolution)
    throw ConfigError(where, "'resolution' must be between 1 and " + std::to_string(kMaxResolution) +
                                 " (or 0 for the data set's own size), found " + std::to_string(resolution));
}

// A config's JSON without "resolution" when it is 0 (the to_json of every stage config).
inline nlohmann::json without_native_resolution(nlohmann::json j) {
  if (j.contains("resolution") && j["resolution"] == 0) j.erase("resolution");
  return j;
}

}  // namespace ssdd::data
