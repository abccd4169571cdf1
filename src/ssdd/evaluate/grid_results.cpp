#include "ssdd/evaluate/grid_results.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <ostream>
#include <sstream>
#include <vector>

#include "ssdd/evaluate/grid.h"
#include "ssdd/evaluate/grid_plan.h"
#include "ssdd/io/atomic_file.h"
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

std::string percent(double mean, double std) {
  if (!std::isfinite(mean)) return "—";
  char text[48];
  std::snprintf(text, sizeof text, "%.2f ± %.2f", 100 * mean, 100 * std);
  return text;
}

std::string fixed3(double mean, double std) {
  if (!std::isfinite(mean)) return "—";
  char text[48];
  std::snprintf(text, sizeof text, "%.3f ± %.3f", mean, std);
  return text;
}

std::string fixed1(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", value);
  return text;
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

nlohmann::json summarise(const std::vector<nlohmann::json>& records, const std::vector<GridRow>& rows,
                         const std::vector<std::string>& archs, const std::string& teacher_arch,
                         const std::vector<GridTarget>& targets, const std::vector<std::string>& probes) {
  nlohmann::json summary = nlohmann::json::array();
  for (const auto& row : rows) {
    const std::vector<std::string> row_archs = row.kind == "teacher" ? std::vector<std::string>{teacher_arch} : archs;
    for (const auto& arch : row_archs)
      for (const auto& target : targets) {
        std::vector<double> acc, r2, cka, hprobe, pre, tuned;
        std::map<std::string, std::vector<double>> by_probe;
        for (const auto& r : records) {
          if (r.at("row") != row.label || r.at("arch") != arch || r.at("target") != target.name) continue;
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
        if (acc.empty()) continue;
        nlohmann::json s = {{"row", row.label}, {"kind", row.kind}, {"arch", arch}, {"target", target.name},
                            {"n", acc.size()}};
        const auto [m, sd] = mean_std(acc);
        s["probe_mean"] = m;
        s["probe_std"] = sd;
        for (const auto& [protocol, values] : by_probe) {
          const auto [pm, ps] = mean_std(values);
          s["probes"][protocol] = {{"mean", pm}, {"std", ps}, {"n", values.size()}};
        }
        if (!r2.empty()) {
          const auto [rm, rs] = mean_std(r2);
          const auto [cm, cs] = mean_std(cka);
          const auto [hm, hs] = mean_std(hprobe);
          s["alignment"] = {{"r2_mean", rm},     {"r2_std", rs},     {"cka_mean", cm}, {"cka_std", cs},
                            {"probe_mean", hm},  {"probe_std", hs}};
        }
        if (!pre.empty()) s["pretrain_seconds_mean"] = mean_std(pre).first;
        if (!tuned.empty()) {
          const auto [fm, fs] = mean_std(tuned);
          s["finetune"] = {{"mean", fm}, {"std", fs}, {"n", tuned.size()}};
        }
        summary.push_back(s);
      }
  }
  return summary;
}

// How the networks were pretrained: the paper's epochs, or equal steps for every set.
std::string pretrain_caption(const nlohmann::json& p) {
  std::ostringstream out;
  const int64_t steps = p.value("pretrain_steps", int64_t{0});
  if (steps > 0)
    out << "pretrain " << steps << " SGD steps on every set's (view, target) pairs, the same for every set "
        << "(equal-compute protocol)";
  else
    out << "pretrain " << p.at("pretrain_epochs").get<int64_t>() << " epochs on every (view, target) pair of a set "
        << "(the paper's protocol: a set of more pairs gets more steps)";
  out << " (SGD lr " << p.at("pretrain_lr").get<double>() << ", momentum 0.9, weight decay "
      << p.at("weight_decay").get<double>() << ", batch " << p.at("pretrain_batch").get<int64_t>()
      << ", MSE, constant lr)";
  return out.str();
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

const nlohmann::json* find_summary(const nlohmann::json& summary, const std::string& row, const std::string* arch,
                                   const std::string& target) {
  for (const auto& s : summary)
    if (s.at("row") == row && s.at("target") == target && (!arch || s.at("arch") == *arch)) return &s;
  return nullptr;
}

// What the tables and the chart read of a results.json object.
struct Tables {
  explicit Tables(const nlohmann::json& results)
      : summary(results.at("summary")),
        rows(results.at("rows").get<std::vector<std::string>>()),
        kinds(results.at("row_kinds").get<std::vector<std::string>>()),
        archs(results.at("archs").get<std::vector<std::string>>()),
        targets(results.at("targets").get<std::vector<std::string>>()),
        source(results.at("source").get<std::string>()),
        protocol(results.at("protocol")),
        stored(results.value("row_stored", nlohmann::json::array())) {}

  const nlohmann::json& summary;
  std::vector<std::string> rows, kinds, archs, targets;
  std::string source;
  const nlohmann::json& protocol;
  // Per row: the image-equivalents each set ships, every float counted (storage.h).
  nlohmann::json stored;

  // A row's summary entry for `arch` (the teacher row has its own), null when absent.
  const nlohmann::json* find(size_t row, const std::string& arch, const std::string& target) const {
    return find_summary(summary, rows[row], kinds[row] == "teacher" ? nullptr : &arch, target);
  }
};

// The paragraph under the title: source, teacher and protocol.
void protocol_paragraph(std::ostream& md, const nlohmann::json& results) {
  const auto& p = results.at("protocol");
  md << "Source data set: " << results.at("source").get<std::string>() << "; teacher "
     << results.at("teacher").at("arch").get<std::string>() << " ("
     << results.at("teacher").at("feature_dim").get<int64_t>() << "-d, id "
     << results.at("teacher").at("id").get<std::string>() << ").\n";
  md << "Protocol: " << pretrain_caption(p) << ", then a linear probe of the frozen features";
  if (p.at("probe_max_train").get<int64_t>() > 0)
    md << " fitted on " << p.at("probe_max_train").get<int64_t>() << " train images";
  if (p.value("finetune", false))
    md << "; and full fine-tuning of the network with a new linear classifier ("
       << (p.value("finetune_protocol", "ssdd") == "krrst"
               ? "KRR-ST's protocol: " + std::to_string(p.at("finetune_steps").get<int64_t>()) +
                     " SGD steps, random crop (padding 4) and flip"
               : std::to_string(p.at("finetune_epochs").get<int64_t>()) + " epochs, no augmentation")
       << ", SGD lr " << p.at("finetune_lr").get<double>() << " cosine, momentum 0.9, weight decay "
       << p.at("finetune_weight_decay").get<double>() << ", batch " << p.at("finetune_batch").get<int64_t>() << ")";
  int64_t most_sets = 1;
  for (const auto& k : results.value("row_sets", nlohmann::json::array()))
    most_sets = std::max(most_sets, k.get<int64_t>());
  md << ". Top-1 test accuracy in %, mean ± sample std over " << p.at("seeds").get<int64_t>() << " student seed(s)";
  if (most_sets > 1)
    md << " x each row's distilled sets (up to " << most_sets << " distillation seeds; row_sets in results.json)";
  md << ".\n\n";
}

// A methods x targets table for one architecture (the teacher row has its own); `cell`
// turns a summary entry (null when absent) into the cell's text.
// Its last column: the image-equivalents each set ships, every float counted (storage.h).
void method_table(std::ostream& md, const Tables& t, const std::string& title, const std::string& arch,
                  const std::function<std::string(const nlohmann::json*)>& cell) {
  md << "## " << title << ", " << arch << "\n\n| method |";
  for (const auto& target : t.targets) md << " " << target << " |";
  md << " stored (image-equivalents) |\n|---|";
  for (size_t i = 0; i <= t.targets.size(); ++i) md << "---|";
  md << "\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    md << "| " << t.rows[r] << " |";
    for (const auto& target : t.targets) md << " " << cell(t.find(r, arch, target)) << " |";
    const bool known = r < t.stored.size() && t.stored[r].is_number();
    md << " " << (known ? fixed1(t.stored[r].get<double>()) : "—") << " |\n";
  }
  md << "\n";
}

// One table per probe protocol; a grid of one protocol keeps the plain title.
void probe_tables(std::ostream& md, const Tables& t, const std::vector<std::string>& probes) {
  for (size_t i = 0; i < probes.size() && !t.archs.empty(); ++i) {
    const std::string title =
        probes.size() == 1 ? "Linear probe" : "Linear probe, " + probe_caption(probes[i], t.protocol);
    method_table(md, t, title, t.archs.front(), [&, i](const nlohmann::json* s) {
      if (!s) return std::string("—");
      if (i == 0) return percent(s->at("probe_mean"), s->at("probe_std"));
      if (!s->contains("probes") || !s->at("probes").contains(probes[i])) return std::string("—");
      const auto& e = s->at("probes").at(probes[i]);
      return percent(e.at("mean"), e.at("std"));
    });
  }
  if (probes.size() == 1) md << "Probe: " << probe_caption(probes.front(), t.protocol) << ".\n\n";
}

void cross_architecture_table(std::ostream& md, const Tables& t) {
  md << "## Cross-architecture, linear probe on " << t.source << "\n\n| method |";
  for (const auto& a : t.archs) md << " " << a << " |";
  md << "\n|---|";
  for (size_t i = 0; i < t.archs.size(); ++i) md << "---|";
  md << "\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    if (t.kinds[r] == "teacher") continue;
    md << "| " << t.rows[r] << " |";
    for (const auto& a : t.archs) {
      const auto* s = find_summary(t.summary, t.rows[r], &a, t.source);
      md << " " << (s ? percent(s->at("probe_mean"), s->at("probe_std")) : "—") << " |";
    }
    md << "\n";
  }
  md << "\n";
}

void alignment_table(std::ostream& md, const Tables& t) {
  md << "## Teacher alignment on held-out " << t.source << " test images\n\n"
     << "R^2 and linear CKA between the student's predicted representation h(F(x)) and the teacher's g(x); "
        "probe: linear-probe accuracy (%) of h(F(x)).\n\n"
     << "| method | arch | R^2 | CKA | probe of h(F(x)) |\n|---|---|---|---|---|\n";
  for (size_t r = 0; r < t.rows.size(); ++r)
    for (const auto& a : t.archs) {
      const auto* s = find_summary(t.summary, t.rows[r], &a, t.source);
      if (!s || !s->contains("alignment")) continue;
      const auto& al = s->at("alignment");
      md << "| " << t.rows[r] << " | " << a << " | " << fixed3(al.at("r2_mean"), al.at("r2_std")) << " | "
         << fixed3(al.at("cka_mean"), al.at("cka_std")) << " | " << percent(al.at("probe_mean"), al.at("probe_std"))
         << " |\n";
    }
  md << "\n";
}

// The bar chart of the first table: linear probe of the first architecture per target.
io::svg::BarChart results_chart(const Tables& t) {
  io::svg::BarChart chart;
  chart.title = "linear probe after pretraining, " + t.archs.front();
  chart.y_label = "top-1 test accuracy (%)";
  chart.groups = t.targets;
  chart.y_from_zero = false;
  chart.value_labels = true;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<double> mean, std;
    for (const auto& target : t.targets) {
      const auto* s = t.find(r, t.archs.front(), target);
      mean.push_back(s ? 100 * s->at("probe_mean").get<double>() : NAN);
      std.push_back(s ? 100 * s->at("probe_std").get<double>() : NAN);
    }
    chart.add_series(t.rows[r], mean, std);
  }
  return chart;
}

}  // namespace

std::string results_markdown(const nlohmann::json& results) {
  const Tables t(results);
  std::ostringstream md;
  md << "# Evaluation results\n\n";
  protocol_paragraph(md, results);
  probe_tables(md, t, results.value("probes", std::vector<std::string>{"standardized"}));
  if (t.archs.size() > 1) cross_architecture_table(md, t);

  bool any_finetune = false;
  for (const auto& s : t.summary) any_finetune |= s.contains("finetune");
  for (const auto& arch : any_finetune ? t.archs : std::vector<std::string>{})
    method_table(md, t, "Full fine-tuning", arch, [](const nlohmann::json* s) {
      return s && s->contains("finetune") ? percent(s->at("finetune").at("mean"), s->at("finetune").at("std")) : "—";
    });

  bool any_alignment = false;
  for (const auto& s : t.summary) any_alignment |= s.contains("alignment");
  if (any_alignment) alignment_table(md, t);
  md << "Rows: teacher = the teacher encoder probed (the head-room); none = the architecture with random "
        "weights; the others are networks pretrained on each distilled set.\n";
  return md.str();
}

nlohmann::json grid_results(const GridConfig& config, const GridPlan& plan, const teacher::Teacher& teacher,
                            const std::map<std::string, nlohmann::json>& done) {
  // Every planned cell's record, in plan order.
  std::vector<nlohmann::json> records;
  for (const auto& c : plan.cells) records.push_back(done.at(c.key));
  // The table's rows: one per group, its replicates pooled.
  std::vector<GridRow> table;
  std::vector<std::string> row_labels, row_kinds, target_names;
  nlohmann::json row_stored = nlohmann::json::array();  // image-equivalents each set ships; null: no set
  nlohmann::json row_sets = nlohmann::json::array();    // sets (distillation seeds) pooled per row
  for (const auto& r : plan.rows) {
    if (r.replicate > 0) {
      row_sets[std::find(row_labels.begin(), row_labels.end(), r.group) - row_labels.begin()] = r.replicate + 1;
      continue;
    }
    table.push_back({r.group, r.kind, "", "", r.method, std::nullopt, false, r.group, 0});
    row_labels.push_back(r.group);
    row_kinds.push_back(r.kind);
    row_stored.push_back(r.set ? nlohmann::json(r.set->stored_image_equivalents) : nlohmann::json());
    row_sets.push_back(r.set ? 1 : 0);
  }
  for (const auto& t : plan.targets) target_names.push_back(t.name);
  nlohmann::json protocol = plan.protocols.pretrain;
  for (const auto& item : plan.protocols.probe.items()) protocol[item.key()] = item.value();
  protocol["seeds"] = config.seeds;
  protocol["finetune"] = config.finetune;
  if (config.finetune)
    for (const auto& item : plan.protocols.finetune.items()) protocol[item.key()] = item.value();
  return {{"source", plan.source},
          {"teacher",
           {{"dir", config.teacher}, {"arch", teacher.arch}, {"id", teacher.id}, {"feature_dim", teacher.feature_dim}}},
          {"rows", row_labels},
          {"row_kinds", row_kinds},
          {"archs", plan.archs},
          {"teacher_arch", plan.teacher_arch},
          {"targets", target_names},
          {"protocol", protocol},
          {"config", config.to_json()},
          {"records", records},
          {"row_stored", row_stored},
          {"row_sets", row_sets},
          {"probes", config.probes},
          {"summary", summarise(records, table, plan.archs, plan.teacher_arch, plan.targets, config.probes)}};
}

void write_results(const nlohmann::json& results, const std::string& out_dir) {
  io::write_json_file(out_dir + "/results.json", results);
  io::write_file_atomic(out_dir + "/results.md", results_markdown(results));
  results_chart(Tables(results)).save(out_dir + "/results.svg");
}

}  // namespace ssdd::evaluate
