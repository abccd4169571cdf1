// Experiment configs are TOML (toml++); the stages take their settings as JSON objects
// (core/config_json.h). These functions read TOML into the same JSON form, so one
// validation path (unknown keys refused by name) serves both.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ssdd::io {

// ConfigError naming `source` (a file name), line and column on a syntax error.
nlohmann::json parse_toml(const std::string& text, const std::string& source);
nlohmann::json parse_toml_file(const std::string& path);  // DataError when unreadable

}  // namespace ssdd::io
