#include "ssdd/io/json_file.h"

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/safe_read.h"

namespace ssdd::io {

nlohmann::json parse_json_file(const std::string& path) {
  const std::string text = read_regular_file(path, kMaxTextFileBytes, "a JSON file");
  // nlohmann parses without recursion, but dumps, copies and compares recursively: a value
  // nested 100,000 deep would overflow the stack later, so parsing stops at the limit.
  const auto depth_limit = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > kMaxNestingDepth)
      throw DataError(path, "JSON nested at most " + std::to_string(kMaxNestingDepth) + " levels deep",
                      "deeper nesting");
    return true;
  };
  try {
    return nlohmann::json::parse(text, depth_limit);
  } catch (const nlohmann::json::exception& e) {
    throw DataError(path, "valid JSON", e.what());
  }
}

void write_json_file(const std::string& path, const nlohmann::json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

}  // namespace ssdd::io
