#include "ssdd/io/toml_file.h"

#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "ssdd/core/error.h"

namespace ssdd::io {
namespace {

// TOML values map onto JSON one to one, except dates and times, which no stage takes.
nlohmann::json to_json(const toml::node& node, const std::string& where) {
  if (const auto* table = node.as_table()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [key, value] : *table) {
      const std::string k(key.str());
      j[k] = to_json(value, where.empty() ? k : where + "." + k);
    }
    return j;
  }
  if (const auto* array = node.as_array()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& value : *array) j.push_back(to_json(value, where));
    return j;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  std::ostringstream at;
  at << node.source().begin;
  throw ConfigError(where, "dates and times are not settings (" + at.str() + ")");
}

}  // namespace

nlohmann::json parse_toml(const std::string& text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw ConfigError(source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column),
                      std::string(e.description()));
  }
  try {
    return to_json(table, "");
  } catch (const ConfigError& e) {
    throw ConfigError(source, e.what());
  }
}

nlohmann::json parse_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "a readable TOML file", "no such file or no permission");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_toml(text.str(), path);
}

}  // namespace ssdd::io
