#include "ssdd/core/limits.h"

#include <algorithm>
#include <thread>

#include "ssdd/core/error.h"

namespace ssdd {

void check_at_least(const std::string& where, const std::string& key, int64_t value, int64_t min) {
  if (value < min)
    throw ConfigError(where,
                      "'" + key + "' must be at least " + std::to_string(min) + ", found " + std::to_string(value));
}

void check_counts(const std::string& where, std::initializer_list<CountRule> rules) {
  for (const auto& rule : rules) check_at_least(where, rule.key, rule.value, rule.min);
}

int max_threads() { return 4 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

void check_threads(const std::string& where, int64_t threads) {
  if (threads < 0 || threads > max_threads())
    throw ConfigError(where, "'threads' must be 0 (all cores) or 1 to " + std::to_string(max_threads()) + " (4 x the " +
                                 std::to_string(max_threads() / 4) + " hardware threads), found " +
                                 std::to_string(threads));
}

}  // namespace ssdd
