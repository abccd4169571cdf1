#include "ssdd/evaluate/grid_results.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "ssdd/core/format.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/evaluate/grid_plan.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/grid_results_file.h"
#include "ssdd/io/grid_results_markdown.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/svg_chart.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/teacher/teacher.h"

namespace ssdd::evaluate {

std::pair<double, double> mean_std(const std::vector<double>& v) {
  if (v.empty()) return {NAN, NAN};
  double s = 0;
  for (double x : v) s += x;
  const double mean = s / static_cast<double>(v.size());
  if (v.size() < 2) return {mean, 0.0};
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return {mean, std::sqrt(ss / static_cast<double>(v.size() - 1))};
}

namespace {

io::MeanStd pooled(const std::vector<double>& values) {
  const auto [mean, std] = mean_std(values);
  return {mean, std, static_cast<int64_t>(values.size())};
}

// A record's test accuracy under a probe protocol; records written before "probes" existed
// hold the first (then only) protocol's as probe_test_accuracy.
std::optional<double> probe_accuracy(const nlohmann::json& record, const std::string& protocol, bool first) {
  if (record.contains("probes")) {
    const auto& p = record.at("probes");
    if (p.contains(protocol)) return p.at(protocol).at("test_accuracy").get<double>();
    return std::nullopt;
  }
  if (first) return record.at("probe_test_accuracy").get<double>();
  return std::nullopt;
}

// The records of one row x arch x target, pooled; nullopt when there are none.
std::optional<io::CellSummary> summarise_cell(const std::vector<nlohmann::json>& records, const GridRow& row,
                                              const std::string& arch, const std::string& target,
                                              const std::vector<std::string>& probes) {
  std::vector<double> acc, r2, cka, hprobe, pre, tuned;
  std::map<std::string, std::vector<double>> by_probe;
  for (const auto& r : records) {
    if (r.at("row") != row.label || r.at("arch") != arch || r.at("target") != target) continue;
    acc.push_back(r.at("probe_test_accuracy").get<double>());
    for (size_t i = 0; i < probes.size(); ++i)
      if (const auto a = probe_accuracy(r, probes[i], i == 0)) by_probe[probes[i]].push_back(*a);
    if (r.contains("pretrain_seconds")) pre.push_back(r.at("pretrain_seconds").get<double>());
    if (r.contains("finetune")) tuned.push_back(r.at("finetune").at("test_accuracy").get<double>());
    if (r.contains("alignment")) {
      const auto& a = r.at("alignment");
      r2.push_back(a.at("r2").get<double>());
      cka.push_back(a.at("cka").get<double>());
      hprobe.push_back(a.at("probe_test_accuracy").get<double>());
    }
  }
  if (acc.empty()) return std::nullopt;
  io::CellSummary s{row.label, row.kind, arch, target, pooled(acc), {}, std::nullopt, std::nullopt, std::nullopt};
  for (const auto& [protocol, values] : by_probe) s.probes[protocol] = pooled(values);
  if (!r2.empty()) s.alignment = io::AlignmentSummary{pooled(r2), pooled(cka), pooled(hprobe)};
  if (!pre.empty()) s.pretrain_seconds_mean = mean_std(pre).first;
  if (!tuned.empty()) s.finetune = pooled(tuned);
  return s;
}

std::vector<io::CellSummary> summarise(const std::vector<nlohmann::json>& records, const std::vector<GridRow>& rows,
                                       const std::vector<std::string>& archs, const std::string& teacher_arch,
                                       const std::vector<GridTarget>& targets, const std::vector<std::string>& probes) {
  std::vector<io::CellSummary> summary;
  for (const auto& row : rows) {
    const std::vector<std::string> row_archs = row.kind == "teacher" ? std::vector<std::string>{teacher_arch} : archs;
    for (const auto& arch : row_archs)
      for (const auto& target : targets)
        if (auto s = summarise_cell(records, row, arch, target.name, probes)) summary.push_back(std::move(*s));
  }
  return summary;
}

std::string probe_caption(const std::string& protocol, const nlohmann::json& p) {
  const int64_t steps = p.value("probe_steps", int64_t{0});  // >0: every protocol's length
  const measure::ProbeOptions o = measure::probe_protocol(protocol);
  const std::string length = steps > 0    ? std::to_string(steps) + " SGD steps"
                             : o.steps > 0 ? std::to_string(o.steps) + " SGD steps"
                                           : std::to_string(p.at("probe_epochs").get<int64_t>()) + " epochs";
  const std::string rest = length + " of batch " + std::to_string(o.batch_size) + ", lr 0.2 cosine";
  if (protocol == "krrst") return "KRR-ST's protocol (raw features, " + rest + ")";
  return "standardised features, " + rest;
}

// The bar chart of the first table: linear probe of the first architecture per target.
io::svg::BarChart results_chart(const io::GridResults& t) {
  io::svg::BarChart chart;
  chart.title = "linear probe after pretraining, " + t.archs.front();
  chart.y_label = "top-1 test accuracy (%)";
  chart.groups = t.targets;
  chart.y_from_zero = false;
  chart.value_labels = true;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<double> mean, std;
    for (const auto& target : t.targets) {
      const auto* s = t.find(t.rows[r], t.archs.front(), target);
      mean.push_back(s ? 100 * s->probe.mean : NAN);
      std.push_back(s ? 100 * s->probe.std : NAN);
    }
    chart.add_series(t.rows[r], mean, std);
  }
  return chart;
}

}  // namespace

std::string results_markdown(const io::GridResults& t) { return io::grid_results_markdown(t); }

std::string results_markdown(const nlohmann::json& results) {
  return results_markdown(io::grid_results_from_json(results));
}

io::GridResults grid_results(const GridConfig& config, const GridPlan& plan, const teacher::Teacher& teacher,
                             const std::map<std::string, nlohmann::json>& done) {
  io::GridResults out;
  // Every planned cell's record, in plan order.
  std::vector<nlohmann::json> records;
  for (const auto& c : plan.cells) records.push_back(done.at(c.key));
  out.records = records;
  // The table's rows: one per group, its replicates pooled (row_sets: the distillation seeds).
  std::vector<GridRow> table;
  for (const auto& r : plan.rows) {
    if (r.replicate > 0) {
      out.row_sets[std::find(out.rows.begin(), out.rows.end(), r.group) - out.rows.begin()] = r.replicate + 1;
      continue;
    }
    table.push_back({r.group, r.kind, "", "", r.method, std::nullopt, false, r.group, 0});
    out.rows.push_back(r.group);
    out.row_kinds.push_back(r.kind);
    out.row_stored.push_back(r.set ? std::optional<double>(r.set->stored_image_equivalents) : std::nullopt);
    out.row_sets.push_back(r.set ? 1 : 0);
  }
  for (const auto& t : plan.targets) out.targets.push_back(t.name);
  out.protocol = plan.protocols.pretrain;
  for (const auto& item : plan.protocols.probe.items()) out.protocol[item.key()] = item.value();
  out.protocol["seeds"] = config.seeds;
  out.protocol["finetune"] = config.finetune.enabled;
  if (config.finetune.enabled)
    for (const auto& item : plan.protocols.finetune.items()) out.protocol[item.key()] = item.value();
  out.source = plan.source;
  out.teacher = {{"dir", config.teacher}, {"arch", teacher.arch}, {"id", teacher.id}, {"feature_dim", teacher.feature_dim}};
  out.archs = plan.archs;
  out.teacher_arch = plan.teacher_arch;
  out.config = config.to_json();
  out.probes = config.probe.protocols;
  for (const auto& protocol : config.probe.protocols)
    out.probe_captions.push_back(probe_caption(protocol, out.protocol));
  out.summary = summarise(records, table, plan.archs, plan.teacher_arch, plan.targets, config.probe.protocols);
  return out;
}

void write_results(const io::GridResults& results, const std::string& out_dir) {
  io::write_json_file(out_dir + "/results.json", io::to_json(results));
  io::write_file_atomic(out_dir + "/results.md", results_markdown(results));
  results_chart(results).save(out_dir + "/results.svg");
}

}  // namespace ssdd::evaluate
