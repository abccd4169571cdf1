// Wall-clock time as run folders record it. No LibTorch.
#pragma once
#include <string>

namespace ssdd {

// Now, in UTC, ISO 8601 to the second: "2026-11-26T09:04:09Z" (logs, run.json).
std::string utc_timestamp();

}  // namespace ssdd
