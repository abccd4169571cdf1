// The grid laid out (grid.h): its rows (teacher, none, the distilled sets), architectures and
// targets, the protocol settings that change a cell's numbers, and every cell with its key,
// in the order the cells run and the tables read. Also a target's data, loaded for its cells.
// Internal to evaluate/.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "ssdd/data/dataset.h"
#include "ssdd/distill/set_file.h"
#include "ssdd/models/image_shape.h"

namespace ssdd::io {
class RunLog;
}
namespace ssdd::teacher {
struct Teacher;
}

namespace ssdd::evaluate {

struct GridConfig;

// One row of the table.
struct GridRow {
  std::string label;  // unique: the table's row name, "#k" added for its k-th further set
  std::string kind;   // teacher | none | set
  std::string path, file_hash, method;
  std::optional<distill::SetFile> set;
  bool align = false;
  // The table row it counts in: sets given under one LABEL are replicates of it (distillation
  // seeds), pooled with the student seeds into one mean ± std.
  std::string group;
  int64_t replicate = 0;
};

struct GridTarget {
  std::string name, dir;
  bool source = false;
  std::string digest;  // of the data set's content (data/identity.h): part of every cell key
};

struct GridCell {
  size_t row = 0;
  std::string arch;
  size_t target = 0;
  int64_t seed = 0;
  std::string key;
};

// Protocol settings that change a cell's numbers, per row kind.
struct GridProtocols {
  nlohmann::json probe, pretrain, finetune;
};

struct GridPlan {
  std::vector<GridRow> rows;        // teacher, none, then the distilled sets in the order given
  std::string source;               // the sets' source data set (else the teacher's)
  models::ImageShape shape;         // the sets' images, which the teacher takes
  std::vector<std::string> archs;   // canonical specs, each once
  std::string teacher_arch;         // "teacher:<arch>": the teacher row's only architecture
  std::vector<GridTarget> targets;  // each once, "source" resolved
  GridProtocols protocols;
  std::vector<GridCell> cells;      // in the order they run (and the tables read)
};

// Reads the sets (distill::read_set_file) and lays out the grid; warnings go to `log`.
GridPlan plan_grid(const GridConfig& config, const teacher::Teacher& teacher, io::RunLog& log);

struct TargetData {
  data::ImageSet train, test;  // train possibly subsampled (probe_max_train)
  data::Normalization norm;
};

// Target `t` of the plan, read at the source's image shape.
TargetData load_target(const GridPlan& plan, size_t t, const GridConfig& config);

// Before a target's first cell: its features, a pretraining batch and the largest set fit
// the machine (evaluation_memory.h).
void check_cell_memory(const TargetData& target, const GridPlan& plan, const GridConfig& config, int64_t rep_dim,
                       c10::Device device);

}  // namespace ssdd::evaluate
