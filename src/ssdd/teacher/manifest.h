// manifest.json of a backbone-only teacher folder (teacher/backbone_teacher.h): what the
// weights are (data set, architecture, id, config and its hash), where they came from
// (trained by ssdd: the command, wall time, threads, machine; imported: the source file and
// its sha256), what they measure (linear probe), and the sha256 and size of teacher.pt,
// so a copy can be checked with `sha256sum` as well as by ssdd.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace ssdd::teacher {

// Writes dir/manifest.json from `fields`, adding "sha256" and "bytes" of dir/teacher.pt and
// "ssdd_version".
void write_manifest(const std::string& dir, nlohmann::json fields);

// Reads dir/manifest.json and checks dir/teacher.pt against it: DataError naming teacher.pt
// (the manifest's sha256 expected, the file's found) when they differ, naming manifest.json
// when it lacks the fields every manifest has.
nlohmann::json read_verified_manifest(const std::string& dir);

}  // namespace ssdd::teacher
