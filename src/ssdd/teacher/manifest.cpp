#include "ssdd/teacher/manifest.h"

#include "ssdd/core/error.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/sha256.h"

namespace ssdd::teacher {

void write_manifest(const std::string& dir, nlohmann::json fields) {
  const io::FileDigest weights = io::sha256_of_file(dir + "/teacher.pt");
  fields["sha256"] = weights.sha256;
  fields["bytes"] = weights.bytes;
  fields["ssdd_version"] = SSDD_VERSION;
  io::write_json_file(dir + "/manifest.json", fields);
}

nlohmann::json read_verified_manifest(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  const nlohmann::json manifest = io::parse_json_file(path);
  for (const char* key : {"id", "data", "arch", "sha256", "bytes"})
    if (!manifest.is_object() || !manifest.contains(key))
      throw DataError(path, std::string("a teacher manifest with \"") + key + "\"", "none");
  const std::string weights_path = dir + "/teacher.pt";
  const io::FileDigest found = io::sha256_of_file(weights_path);
  const std::string expected = manifest.at("sha256").get<std::string>();
  if (found.sha256 != expected)
    throw DataError(weights_path, "sha256 " + expected + " (manifest.json)",
                    "sha256 " + found.sha256 + ", " + std::to_string(found.bytes) + " bytes (damaged, or other weights)");
  return manifest;
}

}  // namespace ssdd::teacher
