// Teachers the repository ships: teachers/NAME/ folders in teacher/backbone_teacher.h's form,
// each with a manifest (teacher/manifest.h). A stage that needs the teacher of a config takes
// the shipped teacher whose manifest carries that config's teacher id (config hash plus the
// digest of the source data's content, so it matches only on the same images), once
// teacher.pt's sha256 holds, instead of spending hours training it.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ssdd/teacher/teacher.h"

namespace ssdd::teacher {

// Where shipped teachers are looked for: the folders of $SSDD_TEACHERS (':'-separated) when
// it is set (empty: none), else the repository's teachers/ folder.
std::vector<std::string> shipped_teacher_roots();

struct ShippedTeacher {
  std::string dir;
  nlohmann::json manifest;  // verified: teacher.pt's sha256 matched
};

// The shipped teacher with this id, if any. DataError when one carries the id but its
// weights fail their sha256 or its teacher.json names another id: a damaged copy is refused
// rather than trained over in silence (--retrain trains anyway).
std::optional<ShippedTeacher> find_shipped_teacher(const std::string& id);

// Copies the shipped teacher's files into `dir`, a teacher folder every stage loads as usual,
// and says so in dir/log.
void install_shipped_teacher(const ShippedTeacher& shipped, const std::string& dir);

// The teacher of `config` in out_dir: the shipped one with its id unless `retrain`, else
// trained (train_teacher, resuming when `resume`).
void provide_teacher(const TeacherConfig& config, const std::string& out_dir, bool resume, bool retrain);

// `ssdd teacher ship`: packs a teacher ssdd trained (teacher.pt, teacher.json, config.json,
// metrics.json in trained_dir) into out_dir as a shipped teacher: the backbone in float32 and a
// manifest with its data set, architecture, config and hash, probe accuracy, the command that
// trains it and the training's wall time. Checks first that its id is that of its config on
// the data found here.
void ship_trained_teacher(const std::string& trained_dir, const std::string& out_dir);

// The shortest `ssdd teacher` command that trains `config`: a preset and the options that
// differ from it.
std::string teacher_command(const TeacherConfig& config);

}  // namespace ssdd::teacher
