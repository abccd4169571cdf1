// Configs as JSON objects: defaults from the struct, unknown keys refused by name, and
// type errors reported as ConfigError naming where the config came from.
// A config struct declares its fields once with
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Config, field, ...)
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/core/error.h"

namespace ssdd {

// GCC 12 reports a false -Wmaybe-uninitialized inside nlohmann's defaulted from_json for
// structs holding strings; the struct is fully default-constructed first.
#pragma GCC diagnostic push
#ifndef __clang__  // clang has no such warning, and warns about the unknown name
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// nlohmann turns a float into an integer setting with a plain cast, which is undefined for
// 1e22 (found by fuzz_config): integer settings (those whose default is one) take whole
// numbers only, in nested objects too.
inline void check_whole_numbers(const nlohmann::json& given, const nlohmann::json& known, const std::string& where) {
  for (const auto& item : given.items()) {
    const auto it = known.find(item.key());
    if (it == known.end()) continue;
    if (it->is_number_integer() && item.value().is_number_float())
      throw ConfigError(where, "'" + item.key() + "' takes a whole number, found " + item.value().dump());
    if (it->is_object() && item.value().is_object()) check_whole_numbers(item.value(), *it, where + " (" + item.key() + ")");
  }
}

template <class Config>
Config config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where, "expected an object of settings, found " + j.dump());
  const nlohmann::json known = Config{};
  for (const auto& item : j.items())
    if (!known.contains(item.key())) throw ConfigError(where, "unknown key '" + item.key() + "'");
  check_whole_numbers(j, known, where);
  try {
    return j.get<Config>();
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(where, std::string("bad value: ") + e.what());
  }
}
#pragma GCC diagnostic pop

}  // namespace ssdd
