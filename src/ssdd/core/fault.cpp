#include "ssdd/core/fault.h"

#include <cstdlib>
#include <string>

namespace ssdd {
namespace {

struct ArmedFault {
  std::string point;
  long long at = -1;
};

// Read once: the environment does not change during a run.
const ArmedFault& armed() {
  static const ArmedFault fault = [] {
    ArmedFault f;
    const char* v = std::getenv("SSDD_INJECT_FAULT");
    if (!v) return f;
    const std::string spec = v;
    const auto at = spec.rfind('@');
    if (at == std::string::npos) return f;
    f.point = spec.substr(0, at);
    f.at = std::strtoll(spec.c_str() + at + 1, nullptr, 10);
    return f;
  }();
  return fault;
}

}  // namespace

bool fault_at(std::string_view point, long long n) {
  const ArmedFault& f = armed();
  return f.at == n && f.point == point;
}

}  // namespace ssdd
