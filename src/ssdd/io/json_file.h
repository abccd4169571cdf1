// JSON files: parse errors name the file; writes are atomic.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ssdd::io {

nlohmann::json parse_json_file(const std::string& path);       // DataError on a bad file
void write_json_file(const std::string& path, const nlohmann::json& j);  // pretty, atomic

}  // namespace ssdd::io
