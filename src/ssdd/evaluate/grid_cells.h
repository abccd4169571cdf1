// The cells of the grid (grid.h): cells.jsonl, one JSON record per finished cell, and the
// running of the cells not in it: each row's network (the teacher's; a random one for "none";
// for a set, one pretrained on it or reused from models/), probed on each target under every
// probe protocol, compared with the teacher on the source (alignment.h) and fine-tuned
// (finetune.h) when asked. Internal to evaluate/.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "ssdd/evaluate/grid_plan.h"  // GridPlan, and the RunLog, Teacher and GridConfig it names
#include "ssdd/train/distributed.h"

namespace ssdd::evaluate {

// Records already in cells.jsonl, by key. A torn last line (a kill mid-write) is skipped.
std::map<std::string, nlohmann::json> read_cells(const std::string& path, io::RunLog& log);

// Appends one record as one line and flushes, so a kill loses at most the cell in flight.
void append_cell(const std::string& path, const nlohmann::json& record);

// A file torn mid-line by a kill gets its newline back, so the next record starts clean.
void terminate_last_line(const std::string& path);

// The cells file of a rank: rank 0 appends to cells.jsonl; rank N of a job to
// cells.rank-N.jsonl, which rank 0 folds into cells.jsonl when the ranks are done (or, after
// a kill, when the grid next starts, whatever its world size).
std::string rank_cells_path(const std::string& out_dir, int rank);
// Appends the records of every cells.rank-N.jsonl that cells.jsonl lacks, then removes them.
// cells.jsonl must end its last line (terminate_last_line first).
void fold_rank_cells(const std::string& out_dir, io::RunLog& log);

// What the cells of one grid run share.
struct GridRun {
  const GridConfig& config;
  const GridPlan& plan;
  const teacher::Teacher& teacher;
  c10::Device device;
  std::string out_dir;  // models/
  io::RunLog& log;
  train::ProcessGroup* group = nullptr;  // a job of several ranks: they share the cells out
};

// Runs the plan's cells not in `done` (`skipped` of them are there), appending each record
// to this rank's cells file and to `done`; returns how many it ran. In a job, each rank takes
// the next group of cells that share a network (a set x arch x seed) when it is free, so the
// ranks finish together; progress counts every rank's cells. A SIGINT/SIGTERM (core/stop.h)
// ends it between cells.
int64_t run_cells(const GridRun& grid, std::map<std::string, nlohmann::json>& done, int64_t skipped);

}  // namespace ssdd::evaluate
