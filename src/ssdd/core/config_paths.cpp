#include "ssdd/core/config_paths.h"

#include <filesystem>

namespace ssdd {
namespace {

namespace fs = std::filesystem;

std::string resolved(const std::string& path, const fs::path& base) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (base / path).lexically_normal().string();
}

// "folder:PATH" names an image folder; any other data-set name is left alone.
std::string resolved_data(const std::string& name, const fs::path& base) {
  const std::string prefix = "folder:";
  if (name.rfind(prefix, 0) != 0) return name;
  return prefix + resolved(name.substr(prefix.size()), base);
}

// LABEL=PATH as the grid reads it (evaluate/grid.cpp split_label): a label has no '/'.
std::string resolved_labelled(const std::string& item, const fs::path& base, bool bare_is_path) {
  const auto eq = item.find('=');
  if (eq == std::string::npos || eq == 0 || item.substr(0, eq).find('/') != std::string::npos)
    return bare_is_path ? resolved(item, base) : resolved_data(item, base);
  return item.substr(0, eq + 1) + resolved(item.substr(eq + 1), base);
}

void resolve_in_place(nlohmann::json& j, const fs::path& base) {
  if (!j.is_object()) return;
  for (auto& [key, value] : j.items()) {
    if (value.is_object()) {
      resolve_in_place(value, base);
    } else if (value.is_string()) {
      if (key == "data_dir" || key == "teacher" || key == "path") value = resolved(value.get<std::string>(), base);
      if (key == "data") value = resolved_data(value.get<std::string>(), base);
    } else if (value.is_array() && (key == "distilled" || key == "targets")) {
      for (auto& item : value)
        if (item.is_string()) item = resolved_labelled(item.get<std::string>(), base, key == "distilled");
    }
  }
}

}  // namespace

nlohmann::json resolve_config_paths(nlohmann::json config, const std::string& base_dir) {
  resolve_in_place(config, fs::absolute(base_dir.empty() ? fs::path(".") : fs::path(base_dir)));
  return config;
}

std::string config_folder(const std::string& config_path) { return fs::path(config_path).parent_path().string(); }

}  // namespace ssdd
