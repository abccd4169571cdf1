#include "ssdd/io/grid_results_file.h"

#include "ssdd/core/error.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/json_fields.h"

namespace ssdd::io {
namespace {

using nlohmann::json;

using fields::field;
using fields::FieldError;
using fields::number;
using fields::required;

json mean_std_json(const MeanStd& m) { return {{"mean", m.mean}, {"std", m.std}, {"n", m.n}}; }

MeanStd mean_std_from(const json& j, const std::string& where) {
  if (!j.is_object()) throw FieldError(where + " is not an object");
  return {number(j.value("mean", json())), number(j.value("std", json())), field<int64_t>(j, "n", where + ".", 0)};
}

json cell_json(const CellSummary& s) {
  json out = {{"row", s.row},   {"kind", s.kind},     {"arch", s.arch},          {"target", s.target},
              {"n", s.n()},       {"probe_mean", s.probe.mean}, {"probe_std", s.probe.std}};
  for (const auto& [protocol, m] : s.probes) out["probes"][protocol] = mean_std_json(m);
  if (s.alignment) {
    const auto& a = *s.alignment;
    out["alignment"] = {{"r2_mean", a.r2.mean},   {"r2_std", a.r2.std},       {"cka_mean", a.cka.mean},
                        {"cka_std", a.cka.std},   {"probe_mean", a.probe.mean}, {"probe_std", a.probe.std}};
  }
  if (s.pretrain_seconds_mean) out["pretrain_seconds_mean"] = *s.pretrain_seconds_mean;
  if (s.finetune) out["finetune"] = mean_std_json(*s.finetune);
  return out;
}

CellSummary cell_from(const json& j, const std::string& where) {
  CellSummary s;
  s.row = required<std::string>(j, "row", where);
  s.kind = field<std::string>(j, "kind", where, "");
  s.arch = required<std::string>(j, "arch", where);
  s.target = required<std::string>(j, "target", where);
  s.probe = {number(j.value("probe_mean", json())), number(j.value("probe_std", json())),
             field<int64_t>(j, "n", where, 0)};
  const json probes = j.value("probes", json::object());
  for (const auto& [protocol, m] : probes.items()) s.probes[protocol] = mean_std_from(m, where + "probes." + protocol);
  if (j.contains("alignment")) {
    const json& a = j.at("alignment");
    const auto pair = [&](const char* stem) {
      return MeanStd{number(a.value(std::string(stem) + "_mean", json())),
                     number(a.value(std::string(stem) + "_std", json())), s.n()};
    };
    s.alignment = AlignmentSummary{pair("r2"), pair("cka"), pair("probe")};
  }
  if (j.contains("pretrain_seconds_mean")) s.pretrain_seconds_mean = number(j.at("pretrain_seconds_mean"));
  if (j.contains("finetune")) s.finetune = mean_std_from(j.at("finetune"), where + "finetune");
  return s;
}

}  // namespace

const CellSummary* GridResults::find_exact(const std::string& row, const std::string& arch,
                                           const std::string& target) const {
  for (const auto& s : summary)
    if (s.row == row && s.arch == arch && s.target == target) return &s;
  return nullptr;
}

const CellSummary* GridResults::find(const std::string& row, const std::string& arch,
                                     const std::string& target) const {
  for (const auto& s : summary)
    if (s.row == row && s.target == target && (s.kind == "teacher" || s.arch == arch)) return &s;
  return nullptr;
}

json to_json(const GridResults& r) {
  json stored = json::array(), summary = json::array();
  for (const auto& s : r.row_stored) stored.push_back(s ? json(*s) : json());
  for (const auto& s : r.summary) summary.push_back(cell_json(s));
  json out = {{"source", r.source},       {"teacher", r.teacher},   {"rows", r.rows},
              {"row_kinds", r.row_kinds}, {"archs", r.archs},       {"teacher_arch", r.teacher_arch},
              {"targets", r.targets},     {"protocol", r.protocol}, {"config", r.config},
              {"records", r.records},     {"row_stored", stored},   {"row_sets", r.row_sets},
              {"probes", r.probes},       {"summary", summary}};
  if (!r.probe_captions.empty()) out["probe_captions"] = r.probe_captions;  // absent: a file from before them
  return out;
}

GridResults grid_results_from_json(const json& j, const std::string& path) {
  try {
    if (!j.is_object()) throw FieldError("the file is not a JSON object");
    GridResults r;
    r.rows = required<std::vector<std::string>>(j, "rows", "");
    r.archs = required<std::vector<std::string>>(j, "archs", "");
    r.targets = required<std::vector<std::string>>(j, "targets", "");
    r.source = field<std::string>(j, "source", "", "");
    r.teacher = j.value("teacher", json::object());
    r.row_kinds = field<std::vector<std::string>>(j, "row_kinds", "", {});
    r.teacher_arch = field<std::string>(j, "teacher_arch", "", "");
    r.probes = field<std::vector<std::string>>(j, "probes", "", {"standardized"});
    r.probe_captions = field<std::vector<std::string>>(j, "probe_captions", "", {});
    const json stored = j.value("row_stored", json::array());
    for (const auto& s : stored)
      r.row_stored.push_back(s.is_number() ? std::optional<double>(s.get<double>()) : std::nullopt);
    r.row_sets = field<std::vector<int64_t>>(j, "row_sets", "", {});
    r.protocol = j.value("protocol", json::object());
    r.config = j.value("config", json::object());
    r.records = j.value("records", json::array());
    const auto summary = required<std::vector<json>>(j, "summary", "");
    for (size_t i = 0; i < summary.size(); ++i)
      r.summary.push_back(cell_from(summary[i], "summary[" + std::to_string(i) + "]."));
    return r;
  } catch (const FieldError& e) {
    throw DataError(path, "a grid's results (rows, archs, targets, summary)", e.what());
  } catch (const json::exception& e) {
    throw DataError(path, "a grid's results (rows, archs, targets, summary)", e.what());
  }
}

GridResults read_grid_results(const std::string& path) { return grid_results_from_json(parse_json_file(path), path); }

}  // namespace ssdd::io
