// Paths inside config files. A relative path written in a config file names a place
// beside the file, so it is resolved against the file's folder when the file is read:
// the config then means the same from any working directory. Configs that come from no
// file (presets, built-in configs, command-line options) keep relative paths relative
// to the working directory.
//
// The path-valued keys of the stage configs, at any depth of a config:
//   data_dir, teacher, path      a folder or file
//   data                         "folder:PATH" (other values name a data set)
//   distilled                    items PATH or LABEL=PATH
//   targets                      items NAME=DIR (the DIR), "folder:PATH"; a bare NAME is a data set
// Empty and absolute paths are left as they are.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ssdd {

// `config` with every relative path resolved against `base_dir` (made absolute first).
nlohmann::json resolve_config_paths(nlohmann::json config, const std::string& base_dir);

// The folder of a config file: what its relative paths are resolved against.
std::string config_folder(const std::string& config_path);

}  // namespace ssdd
