#include "ssdd/io/run_record.h"

#include "ssdd/core/error.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/json_fields.h"

namespace ssdd::io {

using nlohmann::json;

json to_json(const RunRecord& r) {
  json stages = json::array();
  for (const auto& s : r.stages)
    stages.push_back({{"name", s.name}, {"dir", s.dir}, {"hash", s.hash}, {"action", s.action}, {"seconds", s.seconds}});
  json j = {{"name", r.name},         {"config", r.config},   {"teacher_dir", r.teacher_dir},
            {"finished", r.finished}, {"updated", r.updated}, {"stages", stages},
            {"machine", r.machine}};
  if (r.seconds) j["seconds"] = *r.seconds;
  return j;
}

RunRecord run_record_from_json(const json& j, const std::string& path) {
  using fields::field;
  using fields::required;
  try {
    if (!j.is_object()) throw fields::FieldError("the file is not a JSON object");
    RunRecord r;
    r.name = field<std::string>(j, "name", "", "run");
    r.config = field<std::string>(j, "config", "", "");
    r.teacher_dir = field<std::string>(j, "teacher_dir", "", "");
    r.updated = field<std::string>(j, "updated", "", "");
    r.finished = field<bool>(j, "finished", "", false);
    if (j.contains("seconds")) r.seconds = field<double>(j, "seconds", "", 0.0);
    const auto stages = required<std::vector<json>>(j, "stages", "");
    for (size_t i = 0; i < stages.size(); ++i) {
      const std::string where = "stages[" + std::to_string(i) + "].";
      r.stages.push_back({required<std::string>(stages[i], "name", where), required<std::string>(stages[i], "dir", where),
                          field<std::string>(stages[i], "hash", where, ""),
                          field<std::string>(stages[i], "action", where, ""),
                          field<double>(stages[i], "seconds", where, 0.0)});
    }
    r.machine = required<json>(j, "machine", "");
    return r;
  } catch (const fields::FieldError& e) {
    throw DataError(path, "a run's record (stages, machine)", e.what());
  } catch (const json::exception& e) {
    throw DataError(path, "a run's record (stages, machine)", e.what());
  }
}

RunRecord read_run_record(const std::string& path) { return run_record_from_json(parse_json_file(path), path); }

}  // namespace ssdd::io
