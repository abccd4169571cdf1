#include "ssdd/io/json_file.h"

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"

namespace ssdd::io {

nlohmann::json parse_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, "valid JSON", e.what());
  }
}

void write_json_file(const std::string& path, const nlohmann::json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

}  // namespace ssdd::io
