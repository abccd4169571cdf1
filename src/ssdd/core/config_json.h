// Configs as JSON objects: defaults from the struct, unknown keys refused by name, and
// type errors reported as ConfigError naming where the config came from and the key.
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

// What a setting whose default is `v` takes, in words; empty when anything may do.
inline std::string setting_kind(const nlohmann::json& v) {
  if (v.is_number_integer()) return "a whole number";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "true or false";
  if (v.is_array() && !v.empty() && v.front().is_string()) return "a list of strings";
  if (v.is_array() && !v.empty() && v.front().is_number_integer()) return "a list of whole numbers";
  if (v.is_array() && !v.empty() && v.front().is_number()) return "a list of numbers";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "a table of settings";
  return "";
}

inline bool same_kind(const nlohmann::json& given, const nlohmann::json& known) {
  if (known.is_null()) return true;
  if (known.is_number()) return given.is_number();  // whole numbers: check_whole_numbers
  if (given.type() != known.type()) return false;
  if (known.is_array() && !known.empty())
    for (const auto& item : given)
      if (!same_kind(item, known.front())) return false;
  return true;
}

// Every given setting of the kind its default has, so a type error names its key
// ("'budget' takes a whole number, found \"abc\""), in nested objects too.
inline void check_kinds(const nlohmann::json& given, const nlohmann::json& known, const std::string& where) {
  for (const auto& item : given.items()) {
    const auto it = known.find(item.key());
    if (it == known.end()) continue;
    if (!same_kind(item.value(), *it))
      throw ConfigError(where, "'" + item.key() + "' takes " + setting_kind(*it) + ", found " + item.value().dump());
    if (it->is_object()) check_kinds(item.value(), *it, where + " (" + item.key() + ")");
  }
}

template <class Config>
Config config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where, "expected an object of settings, found " + j.dump());
  const nlohmann::json known = Config{};
  for (const auto& item : j.items())
    if (!known.contains(item.key())) throw ConfigError(where, "unknown key '" + item.key() + "'");
  check_kinds(j, known, where);
  check_whole_numbers(j, known, where);
  try {
    return j.get<Config>();
  } catch (const nlohmann::json::exception& e) {
    // Whatever the checks above missed: find the key by reading the settings one at a time.
    for (const auto& item : j.items()) {
      nlohmann::json one = known;
      one[item.key()] = item.value();
      try {
        (void)one.get<Config>();
      } catch (const nlohmann::json::exception& bad) {
        const std::string reason = bad.what();
        throw ConfigError(where, "'" + item.key() + "' cannot be " + item.value().dump() + " (" +
                                     reason.substr(reason.find("] ") == std::string::npos ? 0 : reason.find("] ") + 2) +
                                     ")");
      }
    }
    throw ConfigError(where, std::string("bad value: ") + e.what());
  }
}
#pragma GCC diagnostic pop

}  // namespace ssdd
