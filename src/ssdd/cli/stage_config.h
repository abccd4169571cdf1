// A stage command's --config file (JSON, e.g. a run's config.json): its relative paths name
// places beside it, whatever the working directory (core/config_paths.h).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/core/config_paths.h"
#include "ssdd/io/json_file.h"

namespace ssdd::cli {

inline nlohmann::json read_stage_config(const std::string& path) {
  return resolve_config_paths(io::parse_json_file(path), config_folder(path));
}

}  // namespace ssdd::cli
