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
template <class Config>
Config config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where, "expected an object of settings, found " + j.dump());
  const nlohmann::json known = Config{};
  for (const auto& item : j.items())
    if (!known.contains(item.key())) throw ConfigError(where, "unknown key '" + item.key() + "'");
  try {
    return j.get<Config>();
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(where, std::string("bad value: ") + e.what());
  }
}
#pragma GCC diagnostic pop

}  // namespace ssdd
