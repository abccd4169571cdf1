#include "ssdd/experiment/stage_stamp.h"

#include <nlohmann/json.hpp>

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/owned_folder.h"

namespace ssdd::experiment {

StageStamp read_stamp(const std::string& dir) {
  StageStamp s;
  const std::string path = dir + "/stage.json";
  if (!io::file_exists(path)) return s;
  const auto j = io::parse_json_file(path);
  s.stage = j.value("stage", "");
  s.hash = j.value("hash", "");
  s.status = j.value("status", "");
  s.seconds = j.value("seconds", 0.0);
  return s;
}

void write_stamp(const std::string& dir, const StageStamp& stamp) {
  // A stage folder is ssdd's: one an earlier ssdd made (it holds a stamp) is adopted, and a
  // folder of the user's in its place is refused rather than written into.
  if (!io::is_claimed(dir) && io::file_exists(dir + "/stage.json")) io::adopt_folder(dir, stamp.stage);
  io::claim_folder(dir, stamp.stage);
  io::write_json_file(dir + "/stage.json", {{"stage", stamp.stage},
                                            {"hash", stamp.hash},
                                            {"status", stamp.status},
                                            {"seconds", stamp.seconds}});
}

StageAction plan_stage(const std::string& dir, const std::string& hash) { return plan_stage(read_stamp(dir), hash); }

StageAction plan_stage(const StageStamp& stamp, const std::string& hash) {
  if (stamp.status.empty()) return StageAction::resume;
  if (stamp.hash != hash) return StageAction::restart;
  return stamp.status == "done" ? StageAction::skip : StageAction::resume;
}

void clear_stage(const std::string& dir, const std::string& owner) {
  if (!io::file_exists(dir + "/stage.json"))
    throw IoError(dir, "not a stage folder (no stage.json); refusing to clear it");
  io::clear_claimed_folder(dir, owner);
}

}  // namespace ssdd::experiment
