// run.json, typed: what `ssdd run` records of a run folder (its stages, their folders and
// wall times, the machine), written by experiment/ and read by report/.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ssdd::io {

struct StageEntry {
  std::string name;    // "teacher", "distill ours", "baseline random", "evaluate main"
  std::string dir;     // relative to the run folder, or absolute (the shared teacher cache)
  std::string hash;
  std::string action;  // ran | resumed | restarted | skipped | reused | planned | shipped
  double seconds = 0;  // wall time of the run that made the stage's outputs
};

struct RunRecord {
  std::string name, config, teacher_dir, updated;
  bool finished = false;
  std::optional<double> seconds;  // the whole run's, once finished
  std::vector<StageEntry> stages;
  nlohmann::json machine;         // core/runtime.h machine_info()
};

nlohmann::json to_json(const RunRecord& record);
// Throws DataError naming `path` and the missing or mistyped field.
RunRecord run_record_from_json(const nlohmann::json& j, const std::string& path = "run.json");
RunRecord read_run_record(const std::string& path);

}  // namespace ssdd::io
