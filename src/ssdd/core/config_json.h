// Configs as JSON objects: defaults from the struct, unknown keys refused by name, and
// type errors reported as ConfigError naming where the config came from and the key.
// A config struct declares its fields once with
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Config, field, ...)
// and names the member structs its JSON form flattens (config_parts below) with
//   static std::vector<ConfigPart> json_parts();
#pragma once
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/core/choice.h"
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

// A member struct of a config (RuntimeOptions, a component's options) whose settings the
// config's JSON form writes at its top level, each as `prefix` + the member's own key: C++
// nests, while config files, config.json and hashes keep the flat keys they always had.
struct ConfigPart {
  const char* member;  // the member's name in the nested form (its macro-generated JSON)
  const char* prefix;  // "" keeps the member's keys as they are
  // The member's settings whose flat key is not prefix + own key, as {own key, flat key}:
  // a part's `enabled` written as "finetune", or a key older than the part.
  std::vector<std::pair<std::string, std::string>> renamed = {};

  std::string flat_key(const std::string& own) const {
    for (const auto& [from, to] : renamed)
      if (from == own) return to;
    return prefix + own;
  }
};

// The nested JSON of a config (nlohmann::json(config)) with its parts' settings moved to
// the top level. Two settings of one name are a programming error.
inline nlohmann::json flatten_parts(nlohmann::json nested, const std::vector<ConfigPart>& parts) {
  for (const auto& part : parts) {
    const nlohmann::json settings = nested.at(part.member);
    nested.erase(part.member);
    for (const auto& item : settings.items()) {
      const std::string key = part.flat_key(item.key());
      if (nested.contains(key)) throw std::logic_error("config part '" + std::string(part.member) + "' repeats '" + key + "'");
      nested[key] = item.value();
    }
  }
  return nested;
}

// The inverse for settings given flat: each key that is the flat key of a part's own key
// (those of `known_nested`, a default config's nested JSON) moves into the part.
inline nlohmann::json nest_parts(const nlohmann::json& flat, const nlohmann::json& known_nested,
                                 const std::vector<ConfigPart>& parts) {
  nlohmann::json nested = nlohmann::json::object();
  for (const auto& item : flat.items()) {
    bool moved = false;
    for (const auto& part : parts) {
      for (const auto& own : known_nested.at(part.member).items()) {
        if (part.flat_key(own.key()) != item.key()) continue;
        nested[part.member][own.key()] = item.value();
        moved = true;
        break;
      }
      if (moved) break;
    }
    if (!moved) nested[item.key()] = item.value();
  }
  return nested;
}

// A config's flat JSON form (its to_json() starts from this).
template <class Config>
nlohmann::json config_to_json(const Config& config) {
  return flatten_parts(nlohmann::json(config), Config::json_parts());
}

// The error of the one setting of `j` that a config cannot take, found by reading the
// settings one at a time over the defaults (`known`, flat); `fallback` when none alone fails.
template <class Config>
ConfigError bad_setting(const nlohmann::json& j, const nlohmann::json& known, const nlohmann::json& known_nested,
                        const std::string& where, const std::string& fallback) {
  const auto parts = Config::json_parts();
  for (const auto& item : j.items()) {
    nlohmann::json one = known;
    one[item.key()] = item.value();
    const auto& value = item.value();
    try {
      (void)nest_parts(one, known_nested, parts).template get<Config>();
    } catch (const UnknownChoice& bad) {
      return ConfigError(where, "'" + item.key() + "' must be " + bad.valid + ", found " +
                                    (value.is_string() ? "'" + value.get<std::string>() + "'" : value.dump()));
    } catch (const nlohmann::json::exception& bad) {
      std::string reason = bad.what();  // "[json.exception.type_error.302] type must be ..."
      reason = reason.substr(reason.find("] ") == std::string::npos ? 0 : reason.find("] ") + 2);
      return ConfigError(where, "'" + item.key() + "' cannot be " + value.dump() + " (" + reason + ")");
    }
  }
  return ConfigError(where, "bad value: " + fallback);
}

template <class Config>
Config config_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw ConfigError(where, "expected an object of settings, found " + j.dump());
  const nlohmann::json known_nested = Config{};
  const auto parts = Config::json_parts();
  const nlohmann::json known = flatten_parts(known_nested, parts);
  for (const auto& item : j.items())
    if (!known.contains(item.key())) throw ConfigError(where, "unknown key '" + item.key() + "'");
  check_kinds(j, known, where);
  check_whole_numbers(j, known, where);
  try {
    return nest_parts(j, known_nested, parts).template get<Config>();
  } catch (const UnknownChoice& e) {  // a choice's name (core/choice.h)
    throw bad_setting<Config>(j, known, known_nested, where, e.what());
  } catch (const nlohmann::json::exception& e) {  // whatever the checks above missed
    throw bad_setting<Config>(j, known, known_nested, where, e.what());
  }
}
#pragma GCC diagnostic pop

}  // namespace ssdd
