#include "ssdd/io/grid_results_markdown.h"

#include <cmath>
#include <functional>
#include <ostream>
#include <sstream>

#include "ssdd/core/format.h"

namespace ssdd::io {
namespace {

std::string percent(double mean, double std) {
  if (!std::isfinite(mean)) return "—";
  return fmt::format("{:.2f} ± {:.2f}", 100 * mean, 100 * std);
}
std::string percent(const MeanStd& m) { return percent(m.mean, m.std); }

std::string fixed3(const MeanStd& m) {
  if (!std::isfinite(m.mean)) return "—";
  return fmt::format("{:.3f} ± {:.3f}", m.mean, m.std);
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
      << ", MSE, constant lr";
  if (p.contains("pretrain_precision"))  // absent: float32
    out << ", the forward in " << p.at("pretrain_precision").get<std::string>() << " under autocast";
  out << ")";
  return out.str();
}

// A probe protocol's caption as the grid recorded it; a results.json from before captions
// were recorded names the protocol.
std::string probe_caption(const GridResults& t, size_t i) {
  return i < t.probe_captions.size() ? t.probe_captions[i] : "protocol " + t.probes[i];
}

// The paragraph under the title: source, teacher and protocol.
void protocol_paragraph(std::ostream& md, const GridResults& results) {
  const auto& p = results.protocol;
  md << "Source data set: " << results.source << "; teacher " << results.teacher.at("arch").get<std::string>() << " ("
     << results.teacher.at("feature_dim").get<int64_t>() << "-d, id " << results.teacher.at("id").get<std::string>()
     << ").\n";
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
  for (const int64_t k : results.row_sets) most_sets = std::max(most_sets, k);
  md << ". Top-1 test accuracy in %, mean ± sample std over " << p.at("seeds").get<int64_t>() << " student seed(s)";
  if (most_sets > 1)
    md << " x each row's distilled sets (up to " << most_sets << " distillation seeds; row_sets in results.json)";
  md << ".\n\n";
}

// A methods x targets table for one architecture (the teacher row has its own); `cell`
// turns a summary entry (null when absent) into the cell's text.
// Its last column: the image-equivalents each set ships, every float counted (storage.h).
void method_table(std::ostream& md, const GridResults& t, const std::string& heading, const std::string& title,
                  const std::string& arch, const std::function<std::string(const CellSummary*)>& cell) {
  md << heading << " " << title << ", " << arch << "\n\n| method |";
  for (const auto& target : t.targets) md << " " << target << " |";
  md << " stored (image-equivalents) |\n|---|";
  for (size_t i = 0; i <= t.targets.size(); ++i) md << "---|";
  md << "\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    md << "| " << t.rows[r] << " |";
    for (const auto& target : t.targets) md << " " << cell(t.find(t.rows[r], arch, target)) << " |";
    const bool known = r < t.row_stored.size() && t.row_stored[r];
    md << " " << (known ? fmt::format("{:.1f}", *t.row_stored[r]) : "—") << " |\n";
  }
  md << "\n";
}

// One table per probe protocol; a grid of one protocol keeps the plain title.
void probe_tables(std::ostream& md, const GridResults& t, const std::string& heading) {
  const std::vector<std::string>& probes = t.probes;
  for (size_t i = 0; i < probes.size() && !t.archs.empty(); ++i) {
    const std::string title =
        probes.size() == 1 ? "Linear probe" : "Linear probe, " + probe_caption(t, i);
    method_table(md, t, heading, title, t.archs.front(), [&, i](const CellSummary* s) {
      if (!s) return std::string("—");
      if (i == 0) return percent(s->probe);
      const auto e = s->probes.find(probes[i]);
      return e == s->probes.end() ? std::string("—") : percent(e->second);
    });
  }
  if (probes.size() == 1) md << "Probe: " << probe_caption(t, 0) << ".\n\n";
}

void cross_architecture_table(std::ostream& md, const GridResults& t, const std::string& heading) {
  md << heading << " Cross-architecture, linear probe on " << t.source << "\n\n| method |";
  for (const auto& a : t.archs) md << " " << a << " |";
  md << "\n|---|";
  for (size_t i = 0; i < t.archs.size(); ++i) md << "---|";
  md << "\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    if (r < t.row_kinds.size() && t.row_kinds[r] == "teacher") continue;
    md << "| " << t.rows[r] << " |";
    for (const auto& a : t.archs) {
      const auto* s = t.find_exact(t.rows[r], a, t.source);
      md << " " << (s ? percent(s->probe) : "—") << " |";
    }
    md << "\n";
  }
  md << "\n";
}

void alignment_table(std::ostream& md, const GridResults& t, const std::string& heading) {
  md << heading << " Teacher alignment on held-out " << t.source << " test images\n\n"
     << "R^2 and linear CKA between the student's predicted representation h(F(x)) and the teacher's g(x); "
        "probe: linear-probe accuracy (%) of h(F(x)).\n\n"
     << "| method | arch | R^2 | CKA | probe of h(F(x)) |\n|---|---|---|---|---|\n";
  for (size_t r = 0; r < t.rows.size(); ++r)
    for (const auto& a : t.archs) {
      const auto* s = t.find_exact(t.rows[r], a, t.source);
      if (!s || !s->alignment) continue;
      const auto& al = *s->alignment;
      md << "| " << t.rows[r] << " | " << a << " | " << fixed3(al.r2) << " | " << fixed3(al.cka) << " | "
         << percent(al.probe) << " |\n";
    }
  md << "\n";
}

}  // namespace

std::string grid_results_markdown(const GridResults& t, const ResultsMarkdownOptions& options) {
  std::ostringstream md;
  if (options.title) md << "# Evaluation results\n\n";
  const std::string heading(static_cast<size_t>(options.section_level), '#');
  protocol_paragraph(md, t);
  probe_tables(md, t, heading);
  if (t.archs.size() > 1) cross_architecture_table(md, t, heading);

  bool any_finetune = false;
  for (const auto& s : t.summary) any_finetune |= s.finetune.has_value();
  for (const auto& arch : any_finetune ? t.archs : std::vector<std::string>{})
    method_table(md, t, heading, "Full fine-tuning", arch, [](const CellSummary* s) {
      return s && s->finetune ? percent(*s->finetune) : "—";
    });

  bool any_alignment = false;
  for (const auto& s : t.summary) any_alignment |= s.alignment.has_value();
  if (any_alignment) alignment_table(md, t, heading);
  md << "Rows: teacher = the teacher encoder probed (the head-room); none = the architecture with random "
        "weights; the others are networks pretrained on each distilled set.\n";
  return md.str();
}

}  // namespace ssdd::io
