// Settings that take one of a few names (a method, an augmentation, a precision): an enum
// in C++, its name in JSON, TOML and on the command line. The name is parsed once, where a
// config is read, and an unknown one is refused there with the valid names; code after
// that compares enums, never strings.
//
// An enum declares its names beside it, found by argument-dependent lookup:
//   enum class Method { ours, krrst };
//   const ChoiceNames<Method>& choice_names(Method);   // {{Method::ours, "ours"}, ...}
//   SSDD_CHOICE_JSON(Method)                            // its JSON form: the name
#pragma once
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/core/error.h"

namespace ssdd {

template <class E>
using ChoiceNames = std::vector<std::pair<E, std::string>>;

template <class E>
const std::string& choice_name(E value) {
  for (const auto& [choice, name] : choice_names(E{}))
    if (choice == value) return name;
  throw std::logic_error("an enum value without a name");
}

// "a or b", "a, b or c": the valid names, for errors and --help.
template <class E>
std::string choice_list() {
  const auto& names = choice_names(E{});
  std::string text;
  for (size_t i = 0; i < names.size(); ++i)
    text += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i].second;
  return text;
}

// Whether `name` names a choice; `value` is set when it does.
template <class E>
bool find_choice(const std::string& name, E& value) {
  for (const auto& [choice, known] : choice_names(E{}))
    if (known == name) {
      value = choice;
      return true;
    }
  return false;
}

// The choice `name` names, else ConfigError(where, "'key' must be a or b, found 'x'").
template <class E>
E parse_choice(const std::string& name, const std::string& where, const std::string& key) {
  E value{};
  if (!find_choice(name, value))
    throw ConfigError(where, "'" + key + "' must be " + choice_list<E>() + ", found '" + name + "'");
  return value;
}

// Whether E declares its names (for the command line's and JSON's adapters).
template <class E, class = void>
struct is_choice : std::false_type {};
template <class E>
struct is_choice<E, std::void_t<decltype(choice_names(E{}))>> : std::true_type {};

// A JSON value that names no choice. Its reader does not know the key; config_from_json
// (core/config_json.h) finds it and says "'method' must be ours or krrst, found 'x'".
struct UnknownChoice : std::invalid_argument {
  explicit UnknownChoice(const std::string& valid) : std::invalid_argument("must be " + valid), valid(valid) {}
  std::string valid;  // choice_list's "a or b"
};

template <class E>
E choice_from_json(const nlohmann::json& j) {
  E value{};
  if (!j.is_string() || !find_choice(j.get<std::string>(), value)) throw UnknownChoice(choice_list<E>());
  return value;
}

}  // namespace ssdd

#define SSDD_CHOICE_JSON(E)                                                                     \
  inline void to_json(nlohmann::json& j, E value) { j = ::ssdd::choice_name(value); }          \
  inline void from_json(const nlohmann::json& j, E& value) { value = ::ssdd::choice_from_json<E>(j); }
