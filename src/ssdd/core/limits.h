// Range checks of count options (budget, threads, epochs, pool size, ...), shared by the
// config structs' validate() and the CLI, so a flag and a config key fail alike: a
// ConfigError naming `where`, the key, the range and the value found.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>

namespace ssdd {

// value >= min, else ConfigError(where, "'key' must be at least min, found value").
void check_at_least(const std::string& where, const std::string& key, int64_t value, int64_t min);

// A config's count keys at once: check_counts(where, {{"budget", budget, 1}, ...}).
struct CountRule {
  const char* key;
  int64_t value;
  int64_t min;
};
void check_counts(const std::string& where, std::initializer_list<CountRule> rules);

// A config struct after its validate(where): `return validated(config_from_json<C>(j, where), where);`.
template <class Config>
Config validated(Config config, const std::string& where) {
  config.validate(where);
  return config;
}

// More threads than this (4 x the hardware threads) only slow a run down: LibTorch starts
// one OpenMP thread each, and 10,000 of them stall the process for minutes.
int max_threads();
// 0 (all cores) or 1 .. max_threads().
void check_threads(const std::string& where, int64_t threads);

}  // namespace ssdd
