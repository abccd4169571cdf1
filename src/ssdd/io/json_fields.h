// Reading typed fields out of a JSON file's object: a missing or mistyped field is named
// (FieldError, which the file's reader turns into a DataError naming the file).
#pragma once
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/core/error.h"

namespace ssdd::io::fields {

struct FieldError : Error {
  using Error::Error;
};

// A number as JSON writes it: NaN becomes null, and null reads back as NaN.
inline double number(const nlohmann::json& j) { return j.is_null() ? NAN : j.get<double>(); }

// j[key] as T; absent: `fallback`. A mistyped value names its field (`where` + key).
template <class T>
T field(const nlohmann::json& j, const std::string& key, const std::string& where, T fallback) {
  if (!j.is_object() || !j.contains(key)) return fallback;
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    throw FieldError(where + key + ": " + e.what());
  }
}

template <class T>
T required(const nlohmann::json& j, const std::string& key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw FieldError(where + key + " is missing");
  return field<T>(j, key, where, T{});
}

}  // namespace ssdd::io::fields
