// The settings every stage has beside its own: its seed, and where and how fast it runs.
// A stage config holds one as `runtime`; its JSON form writes the three at the top level
// ("seed", "threads", "device"), where config files and config.json have always had them.
// Threads and device never enter a hash (core/config_hash.h); the seed does.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/core/limits.h"

namespace ssdd {

struct RuntimeOptions {
  uint64_t seed = 0;
  int threads = 0;             // 0: all hardware threads (set_threads, core/runtime.h)
  std::string device = "cpu";  // cpu | cuda | cuda:N (parse_device)

  void validate(const std::string& where) const { check_threads(where, threads); }
};

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RuntimeOptions, seed, threads, device)

}  // namespace ssdd
