#include "ssdd/report/report.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/png_write.h"

namespace ssdd::report {
namespace fs = std::filesystem;
namespace {

std::string relative_to(const std::string& path, const std::string& base) {
  std::error_code ec;
  const auto rel = fs::relative(path, base, ec);
  return ec || rel.empty() ? path : rel.string();
}

// A Markdown image: a path relative to the report, or the PNG itself as a data: URI.
std::string image(const std::string& run_dir, const std::string& path, const std::string& alt, bool inline_images) {
  if (!io::file_exists(path)) return "";
  std::string url = relative_to(path, run_dir);
  if (inline_images) {
    const std::string bytes = io::read_file(path);
    url = io::png_data_uri(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  return "![" + alt + "](" + url + ")";
}

std::string fmt(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string duration(double seconds) {
  if (seconds < 60) return fmt("%.0f s", seconds);
  if (seconds < 3600) return fmt("%.1f min", seconds / 60);
  return fmt("%.2f h", seconds / 3600);
}

// Grid results.md with its headings one level down, under the report's own.
std::string demoted(const std::string& markdown) {
  std::istringstream in(markdown);
  std::ostringstream out;
  std::string line;
  bool first = true, after_title = false;
  while (std::getline(in, line)) {
    if (first && line.rfind("# ", 0) == 0) {  // the grid's title: the report has its own
      first = false;
      after_title = true;
      continue;
    }
    first = false;
    if (after_title && line.empty()) continue;
    after_title = false;
    out << (line.rfind("#", 0) == 0 ? "#" + line : line) << "\n";
  }
  return out.str();
}

// A stage folder as run.json records it: relative to the run folder, or absolute.
std::string stage_dir(const std::string& run_dir, const std::string& dir) {
  return fs::path(dir).is_absolute() ? dir : run_dir + "/" + dir;
}

// The stages whose name starts with `kind` ("distill ", "evaluate ", ...): {label, folder}.
std::vector<std::pair<std::string, std::string>> stages_of(const std::string& run_dir, const nlohmann::json& stages,
                                                           const std::string& kind) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : stages) {
    const std::string name = s.at("name");
    if (name.rfind(kind, 0) == 0) out.emplace_back(name.substr(kind.size()), stage_dir(run_dir, s.at("dir")));
  }
  return out;
}

const nlohmann::json* find_probe(const nlohmann::json& results, const std::string& row, const std::string& arch,
                                 const std::string& target) {
  for (const auto& s : results.at("summary"))
    if (s.at("row") == row && s.at("arch") == arch && s.at("target") == target) return &s;
  return nullptr;
}

}  // namespace

std::string ordering_check(const nlohmann::json& results, const std::vector<std::string>& chain) {
  const auto archs = results.at("archs").get<std::vector<std::string>>();
  const auto targets = results.at("targets").get<std::vector<std::string>>();
  std::ostringstream out;
  for (const auto& arch : archs)
    for (const auto& target : targets) {
      std::vector<std::pair<std::string, const nlohmann::json*>> present;
      for (const auto& row : chain)
        if (const auto* s = find_probe(results, row, arch, target)) present.emplace_back(row, s);
      if (present.size() < 2) continue;
      std::string claim;
      for (const auto& [row, s] : present) claim += (claim.empty() ? "" : " > ") + row;
      bool holds = true, clear = true;
      std::string detail;
      for (size_t i = 0; i + 1 < present.size(); ++i) {
        const auto& a = *present[i].second;
        const auto& b = *present[i + 1].second;
        const double gap = 100 * (a.at("probe_mean").get<double>() - b.at("probe_mean").get<double>());
        const double spread = 100 * std::max(a.at("probe_std").get<double>(), b.at("probe_std").get<double>());
        const bool n_ok = a.at("n").get<int64_t>() > 1 && b.at("n").get<int64_t>() > 1;
        holds &= gap > 0;
        clear &= gap > spread && n_ok;
        detail += (detail.empty() ? "" : "; ") + present[i].first + " − " + present[i + 1].first + " = " +
                  fmt("%+.2f", gap) + " points (larger std " + fmt("%.2f", spread) + ")";
      }
      out << "- **" << claim << "** (" << arch << ", " << target << "): "
          << (!holds ? "does not hold" : clear ? "holds, every gap beyond the seeds' std" : "holds in the means, not every gap beyond the seeds' std")
          << ". " << detail << ".\n";
    }
  return out.str();
}

std::string report_markdown(const std::string& run_dir, bool inline_images) {
  const auto run = io::parse_json_file(run_dir + "/run.json");
  const auto& stages = run.at("stages");
  std::ostringstream md;
  md << "# ssdd report: " << run.value("name", "run") << "\n\n";
  double total = 0;
  for (const auto& s : stages) total += s.value("seconds", 0.0);
  md << "Config `" << run.value("config", "") << "`; report written " << run.value("updated", "")
     << "; compute time of all stages " << duration(total) << " (the wall time of the runs that made them).\n\n";

  // Every grid: its tables, then the check of the paper's ordering.
  for (const auto& [grid, dir] : stages_of(run_dir, stages, "evaluate ")) {
    if (!io::file_exists(dir + "/results.json")) continue;
    const auto results = io::parse_json_file(dir + "/results.json");
    md << "## Results: grid `" << grid << "`\n\n" << demoted(io::read_file(dir + "/results.md")) << "\n";
    const std::string check = ordering_check(results, {"ours", "krrst", "random", "none"});
    if (!check.empty())
      md << "### The paper's claim\n\nThe paper reports ours > krrst > random > none on the linear probe. Here:\n\n"
         << check << "\n";
    // Rows labelled ours-<something> are ablations: the full method should beat each.
    std::string ablations;
    for (const auto& row : results.at("rows").get<std::vector<std::string>>())
      if (row.rfind("ours-", 0) == 0) ablations += ordering_check(results, {"ours", row});
    if (!ablations.empty())
      md << "### The ablations\n\nThe paper reports that each addition helps: the full method above every row that "
            "removes one. Here:\n\n"
         << ablations << "\n";
  }

  // Storage and distillation of each distilled set.
  std::vector<std::pair<std::string, nlohmann::json>> sets;  // label, metrics.json
  const auto distilled = stages_of(run_dir, stages, "distill ");
  for (const auto& [label, dir] : distilled)
    if (io::file_exists(dir + "/metrics.json")) sets.emplace_back(label, io::parse_json_file(dir + "/metrics.json"));
  bool header = false;
  for (const auto& [label, m] : sets) {
    if (!header) {
      md << "## Distilled sets\n\n| set | images m | stored floats | image-equivalents | final loss | it/s | time |\n"
            "|---|---|---|---|---|---|---|\n";
      header = true;
    }
    const auto& st = m.at("storage");
    md << "| " << label << " | " << m.value("m", 0) << " | " << st.value("total_floats", 0) << " | "
       << fmt("%.2f", st.value("image_equivalents", 0.0)) << " | " << fmt("%.4f", m.value("final_loss", 0.0)) << " | "
       << fmt("%.2f", m.value("iterations_per_second", 0.0)) << " | " << duration(m.value("seconds", 0.0)) << " |\n";
  }
  if (header) {
    md << "\nStorage is counted in floats of every stored tensor; one image-equivalent is one source image's "
          "floats. Per tensor:\n\n| set | tensor | floats | image-equivalents |\n|---|---|---|---|\n";
    for (const auto& [label, m] : sets)
      for (const auto& item : m.at("storage").at("items"))
        md << "| " << label << " | " << item.value("name", "") << " | " << item.value("floats", 0) << " | "
           << fmt("%.2f", item.value("images", 0.0)) << " |\n";
    bool approx_header = false;
    for (const auto& [label, m] : sets)
      for (const auto& c : m.value("approximation_heldout", nlohmann::json::array())) {
        if (!approx_header) {
          md << "\n### Approximation networks on held-out images\n\nR^2 to the teacher's representation of each "
                "rotated view g(a_t(x)), over held-out real images x: of the networks' prediction from g(x), of "
                "g(x) itself (no shift), and of the truth projected onto the set's representation basis (the "
                "most any stored coefficients can reach). The last column is the networks in sample, on the "
                "set's own images, which are all that pretraining asks of them.\n\n"
                "| set | view | networks | no shift | basis ceiling | networks on the set's images |\n"
                "|---|---|---|---|---|---|\n";
          approx_header = true;
        }
        md << "| " << label << " | " << c.value("view", "") << " | " << fmt("%.3f", c.value("r2", 0.0)) << " | "
           << fmt("%.3f", c.value("r2_unshifted", 0.0)) << " | " << fmt("%.3f", c.value("r2_basis", 0.0)) << " | "
           << fmt("%.3f", c.value("r2_distilled", 0.0)) << " |\n";
      }
    md << "\n### Distillation loss\n\n";
    for (const auto& [label, dir] : distilled) {
      const std::string img = image(run_dir, dir + "/loss.png", label + " loss", inline_images);
      if (!img.empty()) md << "**" << label << "**\n\n" << img << "\n\n";
    }
  }

  // Images: each set beside the real ones.
  md << "## Images\n\nDecoded distilled images (with their predefined views, for sets that have them) beside "
        "real images of the baselines.\n\n";
  for (const char* kind : {"distill ", "baseline "})
    for (const auto& [label, dir] : stages_of(run_dir, stages, kind)) {
      const std::string img = image(run_dir, dir + "/images.png", label, inline_images);
      if (!img.empty()) md << "**" << kind << label << "**\n\n" << img << "\n\n";
    }

  // Wall time and machine.
  md << "## Stages\n\n| stage | this run | time | folder |\n|---|---|---|---|\n";
  for (const auto& s : stages)
    md << "| " << s.value("name", "") << " | " << s.value("action", "") << " | " << duration(s.value("seconds", 0.0))
       << " | `" << s.value("dir", "") << "` |\n";
  md << "\n\"time\" is the wall time of the run that made the stage's outputs; \"skipped\" stages were "
        "current from an earlier run.\n\n## Machine\n\n| | |\n|---|---|\n";
  for (const auto& item : run.at("machine").items())
    md << "| " << item.key() << " | " << (item.value().is_string() ? item.value().get<std::string>() : item.value().dump())
       << " |\n";
  return md.str();
}

void write_report(const std::string& run_dir) {
  io::write_file_atomic(run_dir + "/report.md", report_markdown(run_dir, false));
  const auto run = io::parse_json_file(run_dir + "/run.json");
  io::write_file_atomic(run_dir + "/report.html",
                        markdown_to_html_page(report_markdown(run_dir, true), "ssdd report: " + run.value("name", "run")));
}

}  // namespace ssdd::report
