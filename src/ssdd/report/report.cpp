#include "ssdd/report/report.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>

#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/grid_results_markdown.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/run_record.h"
#include "ssdd/io/set_metrics.h"
#include "ssdd/report/pictures.h"

namespace ssdd::report {
namespace fs = std::filesystem;
namespace {

std::string duration(double seconds) {
  if (seconds < 60) return fmt::format("{:.0f} s", seconds);
  if (seconds < 3600) return fmt::format("{:.1f} min", seconds / 60);
  return fmt::format("{:.2f} h", seconds / 3600);
}

// A stage folder as run.json records it: relative to the run folder, or absolute.
std::string stage_dir(const std::string& run_dir, const std::string& dir) {
  return fs::path(dir).is_absolute() ? dir : run_dir + "/" + dir;
}

// The stages whose name starts with `kind` ("distill ", "evaluate ", ...): {label, folder}.
std::vector<std::pair<std::string, std::string>> stages_of(const std::string& run_dir, const io::RunRecord& run,
                                                           const std::string& kind) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : run.stages)
    if (s.name.rfind(kind, 0) == 0) out.emplace_back(s.name.substr(kind.size()), stage_dir(run_dir, s.dir));
  return out;
}

}  // namespace

std::string ordering_check(const io::GridResults& results, const std::vector<std::string>& chain) {
  std::ostringstream out;
  for (const auto& arch : results.archs)
    for (const auto& target : results.targets) {
      std::vector<std::pair<std::string, const io::CellSummary*>> present;
      for (const auto& row : chain)
        if (const auto* s = results.find_exact(row, arch, target)) present.emplace_back(row, s);
      if (present.size() < 2) continue;
      std::string claim;
      for (const auto& [row, s] : present) claim += (claim.empty() ? "" : " > ") + row;
      bool holds = true, clear = true;
      std::string detail;
      for (size_t i = 0; i + 1 < present.size(); ++i) {
        const auto& a = *present[i].second;
        const auto& b = *present[i + 1].second;
        const double gap = 100 * (a.probe.mean - b.probe.mean);
        const double spread = 100 * std::max(a.probe.std, b.probe.std);
        const bool n_ok = a.n() > 1 && b.n() > 1;
        holds &= gap > 0;
        clear &= gap > spread && n_ok;
        detail += (detail.empty() ? "" : "; ") + present[i].first + " − " + present[i + 1].first + " = " +
                  fmt::format("{:+.2f}", gap) + " points (larger std " + fmt::format("{:.2f}", spread) + ")";
      }
      out << "- **" << claim << "** (" << arch << ", " << target << "): "
          << (!holds ? "does not hold" : clear ? "holds, every gap beyond the seeds' std" : "holds in the means, not every gap beyond the seeds' std")
          << ". " << detail << ".\n";
    }
  return out.str();
}

namespace {

// Each distilled set's config.json by label, read once for every grid of the report; sets
// without one (folders from before config.json) are left out.
std::map<std::string, nlohmann::json> distill_configs(const std::string& run_dir, const io::RunRecord& run) {
  std::map<std::string, nlohmann::json> configs;
  for (const auto& [label, dir] : stages_of(run_dir, run, "distill "))
    if (io::file_exists(dir + "/config.json")) configs[label] = io::parse_json_file(dir + "/config.json");
  return configs;
}

long iterations_of(const nlohmann::json& config) { return config.value("iterations", -1L); }

// True when two distilled sets' configs are equal but for their outer iterations, which differ.
bool same_but_length(nlohmann::json a, nlohmann::json b) {
  if (iterations_of(a) == iterations_of(b)) return false;
  a.erase("iterations");
  b.erase("iterations");
  return a == b;
}

// Rows labelled ours-<something> are ablations, and the full method should beat each. A row
// <base>-<something> that is <base>'s own distillation run for another number of outer
// iterations (krrst-3k, ours-10k) is a convergence check instead: the longer should not lose.
void ablation_sections(std::ostringstream& md, const io::GridResults& results,
                       const std::map<std::string, nlohmann::json>& configs) {
  std::string ablations, lengths;
  for (const auto& row : results.rows) {
    bool is_length = false;
    if (const auto variant = configs.find(row); variant != configs.end())
      for (const auto& [base, base_config] : configs) {
        if (row.rfind(base + "-", 0) != 0 || !same_but_length(base_config, variant->second)) continue;
        is_length = true;
        const bool longer = iterations_of(variant->second) > iterations_of(base_config);
        lengths += ordering_check(results, longer ? std::vector<std::string>{row, base}
                                                  : std::vector<std::string>{base, row});
      }
    if (!is_length && row.rfind("ours-", 0) == 0) ablations += ordering_check(results, {"ours", row});
  }
  if (!ablations.empty())
    md << "### The ablations\n\nThe paper reports that each addition helps: the full method above every row that "
          "removes one. Here:\n\n"
       << ablations << "\n";
  if (!lengths.empty())
    md << "### Distillation length\n\nThe same distillation run for more outer iterations (each length its own "
          "run): the longer above the shorter means the shorter had not converged. Here:\n\n"
       << lengths << "\n";
}

// Every grid: its tables and chart, then the check of the paper's ordering.
void grid_sections(std::ostringstream& md, const std::string& run_dir, const io::RunRecord& run,
                   Pictures& pictures) {
  const auto configs = distill_configs(run_dir, run);
  for (const auto& [grid, dir] : stages_of(run_dir, run, "evaluate ")) {
    if (!io::file_exists(dir + "/results.json")) continue;
    const io::GridResults results = io::read_grid_results(dir + "/results.json");
    md << "## Results: grid `" << grid << "`\n\n" << io::grid_results_markdown(results, {false, 3}) << "\n";
    const std::string chart = pictures.chart(dir, "results", "results of grid " + grid);
    if (!chart.empty()) md << chart << "\n\n";
    const std::string check = ordering_check(results, {"ours", "krrst", "random", "none"});
    if (!check.empty())
      md << "### The paper's claim\n\nThe paper reports ours > krrst > random > none on the linear probe. Here:\n\n"
         << check << "\n";
    ablation_sections(md, results, configs);
  }
}

void approximation_table(std::ostringstream& md, const std::vector<std::pair<std::string, io::SetMetrics>>& sets) {
  bool header = false;
  for (const auto& [label, m] : sets)
    for (const auto& c : m.approximation_heldout) {
      if (!header) {
        md << "\n### Approximation networks on held-out images\n\nR^2 to the teacher's representation of each "
              "rotated view g(a_t(x)), over held-out real images x: of the networks' prediction from g(x), of "
              "g(x) itself (no shift), and of the truth projected onto the set's representation basis (the "
              "most any stored coefficients can reach). The last column is the networks in sample, on the "
              "set's own images, which are all that pretraining asks of them.\n\n"
              "| set | view | networks | no shift | basis ceiling | networks on the set's images |\n"
              "|---|---|---|---|---|---|\n";
        header = true;
      }
      md << fmt::format("| {} | {} | {:.3f} | {:.3f} | {:.3f} | {:.3f} |\n", label, c.view, c.r2, c.r2_unshifted,
                        c.r2_basis, c.r2_distilled);
    }
}

// Storage and distillation of each distilled set.
void distilled_section(std::ostringstream& md, const std::string& run_dir, const io::RunRecord& run,
                       Pictures& pictures) {
  std::vector<std::pair<std::string, io::SetMetrics>> sets;  // label, metrics.json
  const auto distilled = stages_of(run_dir, run, "distill ");
  for (const auto& [label, dir] : distilled)
    if (io::file_exists(dir + "/metrics.json")) sets.emplace_back(label, io::read_set_metrics(dir + "/metrics.json"));
  if (sets.empty()) return;
  md << "## Distilled sets\n\n| set | images m | stored floats | image-equivalents | final loss | it/s | time |\n"
        "|---|---|---|---|---|---|---|\n";
  for (const auto& [label, m] : sets)
    md << fmt::format("| {} | {} | {} | {:.2f} | {:.4f} | {:.2f} | {} |\n", label, m.m, m.storage.total_floats,
                      m.storage.image_equivalents, m.final_loss, m.iterations_per_second, duration(m.seconds));
  md << "\nStorage is counted in floats of every stored tensor; one image-equivalent is one source image's "
        "floats. Per tensor:\n\n| set | tensor | floats | image-equivalents |\n|---|---|---|---|\n";
  for (const auto& [label, m] : sets)
    for (const auto& item : m.storage.items)
      md << fmt::format("| {} | {} | {} | {:.2f} |\n", label, item.name, item.floats, item.images);
  approximation_table(md, sets);
  md << "\n### Distillation loss\n\n";
  for (const auto& [label, dir] : distilled) {
    const std::string img = pictures.chart(dir, "loss", label + " loss");
    if (!img.empty()) md << "**" << label << "**\n\n" << img << "\n\n";
  }
}

// The teacher's training loss and, when it was probed during training, its probe curve.
void teacher_section(std::ostringstream& md, const std::string& run_dir, const io::RunRecord& run,
                     Pictures& pictures) {
  std::string charts;
  for (const auto& [label, dir] : stages_of(run_dir, run, "teacher")) {
    const std::string name = "teacher" + label;
    for (const auto& [stem, what] : {std::pair<const char*, const char*>{"loss", " loss"}, {"probe", " probe"}}) {
      const std::string img = pictures.chart(dir, stem, name + what);
      if (!img.empty()) charts += "**" + name + what + "**\n\n" + img + "\n\n";
    }
  }
  if (!charts.empty()) md << "## Teacher\n\n" << charts;
}

// Wall time of each stage and the machine.
void stages_section(std::ostringstream& md, const io::RunRecord& run) {
  md << "## Stages\n\n| stage | this run | time | folder |\n|---|---|---|---|\n";
  for (const auto& s : run.stages)
    md << "| " << s.name << " | " << s.action << " | " << duration(s.seconds) << " | `" << s.dir << "` |\n";
  md << "\n\"time\" is the wall time of the run that made the stage's outputs; \"skipped\" stages were "
        "current from an earlier run.\n\n## Machine\n\n| | |\n|---|---|\n";
  for (const auto& item : run.machine.items()) {
    const auto& v = item.value();
    md << "| " << item.key() << " | " << (v.is_string() ? v.get<std::string>() : v.dump()) << " |\n";
  }
}

std::string compose(const std::string& run_dir, Pictures& pictures) {
  const io::RunRecord run = io::read_run_record(run_dir + "/run.json");
  std::ostringstream md;
  md << "# ssdd report: " << run.name << "\n\n";
  double total = 0;
  for (const auto& s : run.stages) total += s.seconds;
  md << "Config `" << run.config << "`; report written " << run.updated
     << "; compute time of all stages " << duration(total) << " (the wall time of the runs that made them).\n\n";
  grid_sections(md, run_dir, run, pictures);
  distilled_section(md, run_dir, run, pictures);
  teacher_section(md, run_dir, run, pictures);
  // Images: each set beside the real ones.
  md << "## Images\n\nDecoded distilled images (with their predefined views, for sets that have them) beside "
        "real images of the baselines.\n\n";
  for (const char* kind : {"distill ", "baseline "})
    for (const auto& [label, dir] : stages_of(run_dir, run, kind)) {
      const std::string img = pictures.image(dir + "/images.png", label);
      if (!img.empty()) md << "**" << kind << label << "**\n\n" << img << "\n\n";
    }
  stages_section(md, run);
  return md.str();
}

}  // namespace

std::string report_markdown(const std::string& run_dir) {
  Pictures links(run_dir, false);
  return compose(run_dir, links);
}

std::string report_html(const std::string& run_dir) {
  Pictures embedded(run_dir, true);
  const std::string md = compose(run_dir, embedded);
  const io::RunRecord run = io::read_run_record(run_dir + "/run.json");
  return embedded.inline_charts(markdown_to_html_page(md, "ssdd report: " + run.name));
}

void write_report(const std::string& run_dir) {
  io::write_file_atomic(run_dir + "/report.md", report_markdown(run_dir));
  io::write_file_atomic(run_dir + "/report.html", report_html(run_dir));
}

}  // namespace ssdd::report
