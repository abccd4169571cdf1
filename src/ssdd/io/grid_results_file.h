// An evaluation grid's results.json, typed: evaluate/ fills and writes it, and both the
// grid's own tables and report/ read it through these types, so each field is named in one
// place (ARCHITECTURE.md: results.json --> report). What no table reads stays JSON for tools:
// the per-cell records, the protocol and the config echo. No LibTorch here.
#pragma once
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ssdd::io {

// A mean and sample standard deviation over n values (n = 1: std 0).
struct MeanStd {
  double mean = NAN;
  double std = NAN;
  int64_t n = 0;
};

// Students against the teacher on held-out source images (evaluate/alignment.h).
struct AlignmentSummary {
  MeanStd r2, cka, probe;  // probe: linear-probe accuracy of the predicted representation
};

// One row x architecture x target, its seeds (and a row's distilled sets) pooled.
struct CellSummary {
  std::string row, kind, arch, target;  // kind: teacher | none | set
  MeanStd probe;                        // the first probe protocol: one value per cell pooled
  std::map<std::string, MeanStd> probes;  // every protocol, by name (absent in older files)
  std::optional<AlignmentSummary> alignment;
  std::optional<double> pretrain_seconds_mean;
  std::optional<MeanStd> finetune;

  int64_t n() const { return probe.n; }  // cells pooled
};

struct GridResults {
  std::string source;
  nlohmann::json teacher;  // dir, arch, id, feature_dim
  std::vector<std::string> rows, row_kinds, archs, targets;
  std::string teacher_arch;
  std::vector<std::string> probes;              // probe protocols, the first is the main table's
  std::vector<std::string> probe_captions;      // how each was run, in words (absent in older files)
  std::vector<std::optional<double>> row_stored;  // image-equivalents each row's set ships; none: no set
  std::vector<int64_t> row_sets;                // distilled sets pooled per row
  nlohmann::json protocol, config, records;
  std::vector<CellSummary> summary;

  // The entry for row, arch and target, null when the grid has none.
  const CellSummary* find_exact(const std::string& row, const std::string& arch, const std::string& target) const;
  // The same for a table's row under an architecture: the teacher's row, probed in its own
  // architecture, fills every architecture's table.
  const CellSummary* find(const std::string& row, const std::string& arch, const std::string& target) const;
};

nlohmann::json to_json(const GridResults& results);
// Throws DataError naming `path` and the missing or mistyped field. Fields added after a grid
// was run (probes, row_stored, row_sets, ...) take their old meaning when absent.
GridResults grid_results_from_json(const nlohmann::json& j, const std::string& path = "results.json");
GridResults read_grid_results(const std::string& path);

}  // namespace ssdd::io
