#include "ssdd/io/set_metrics.h"

#include "ssdd/core/error.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/json_fields.h"

namespace ssdd::io {

using nlohmann::json;

json to_json(const SetStorage& s) {
  json items = json::array();
  for (const auto& item : s.items) items.push_back({{"name", item.name}, {"floats", item.floats}, {"images", item.images}});
  return {{"items", items},
          {"total_floats", s.total_floats},
          {"image_equivalents", s.image_equivalents},
          {"image_floats", s.image_floats}};
}

json to_json(const std::vector<ViewApproximation>& checks) {
  json j = json::array();
  for (const auto& c : checks)
    j.push_back({{"view", c.view},
                 {"r2", c.r2},
                 {"r2_unshifted", c.r2_unshifted},
                 {"r2_basis", c.r2_basis},
                 {"r2_distilled", c.r2_distilled}});
  return j;
}

json to_json(const SetMetrics& m) {
  json j = {{"loss", m.loss},
            {"final_loss", m.final_loss},
            {"kernel", m.kernel},
            {"m", m.m},
            {"seconds", m.seconds},
            {"iterations_per_second", m.iterations_per_second},
            {"storage", to_json(m.storage)},
            {"approximation_heldout", to_json(m.approximation_heldout)},
            {"threads", m.threads}};
  if (m.ranks > 1) {  // a job's (issue 26); one process's metrics are as they always were
    j["ranks"] = m.ranks;
    j["collective_seconds"] = m.collective_seconds;
  }
  return j;
}

namespace {

using fields::field;
using fields::required;

SetStorage storage_from_json(const json& j) {
  SetStorage s;
  const auto items = required<std::vector<json>>(j, "items", "storage.");
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string where = "storage.items[" + std::to_string(i) + "].";
    s.items.push_back({required<std::string>(items[i], "name", where), required<int64_t>(items[i], "floats", where),
                       field<double>(items[i], "images", where, 0.0)});
  }
  s.total_floats = required<int64_t>(j, "total_floats", "storage.");
  s.image_equivalents = required<double>(j, "image_equivalents", "storage.");
  s.image_floats = field<int64_t>(j, "image_floats", "storage.", 0);
  return s;
}

// R^2 of a degenerate view is NaN, which JSON writes as null.
ViewApproximation view_approximation_from_json(const json& j, const std::string& where) {
  const auto r2 = [&](const std::string& key, double fallback) { return fields::number(field<json>(j, key, where, fallback)); };
  return {required<std::string>(j, "view", where), fields::number(required<json>(j, "r2", where)),
          r2("r2_unshifted", 0.0), r2("r2_basis", 1.0), r2("r2_distilled", 0.0)};
}

}  // namespace

SetMetrics set_metrics_from_json(const json& j, const std::string& path) {
  try {
    if (!j.is_object()) throw fields::FieldError("the file is not a JSON object");
    SetMetrics m;
    for (const auto& loss : field<std::vector<json>>(j, "loss", "", {})) m.loss.push_back(fields::number(loss));
    m.final_loss = fields::number(field<json>(j, "final_loss", "", 0.0));
    m.kernel = field<json>(j, "kernel", "", json());
    m.m = required<int64_t>(j, "m", "");
    m.seconds = field<double>(j, "seconds", "", 0.0);
    m.iterations_per_second = field<double>(j, "iterations_per_second", "", 0.0);
    m.storage = storage_from_json(required<json>(j, "storage", ""));
    const auto checks = field<std::vector<json>>(j, "approximation_heldout", "", {});
    for (size_t i = 0; i < checks.size(); ++i)
      m.approximation_heldout.push_back(
          view_approximation_from_json(checks[i], "approximation_heldout[" + std::to_string(i) + "]."));
    m.threads = field<int>(j, "threads", "", 0);
    m.ranks = field<int>(j, "ranks", "", 1);
    m.collective_seconds = field<double>(j, "collective_seconds", "", 0.0);
    return m;
  } catch (const fields::FieldError& e) {
    throw DataError(path, "a distilled set's metrics (m, storage)", e.what());
  } catch (const json::exception& e) {
    throw DataError(path, "a distilled set's metrics (m, storage)", e.what());
  }
}

SetMetrics read_set_metrics(const std::string& path) { return set_metrics_from_json(parse_json_file(path), path); }

}  // namespace ssdd::io
