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

namespace ssdd::evaluate {

// Records already in cells.jsonl, by key. A torn last line (a kill mid-write) is skipped.
std::map<std::string, nlohmann::json> read_cells(const std::string& path, io::RunLog& log);

// Appends one record as one line and flushes, so a kill loses at most the cell in flight.
void append_cell(const std::string& path, const nlohmann::json& record);

// A file torn mid-line by a kill gets its newline back, so the next record starts clean.
void terminate_last_line(const std::string& path);

// What the cells of one grid run share.
struct GridRun {
  const GridConfig& config;
  const GridPlan& plan;
  const teacher::Teacher& teacher;
  c10::Device device;
  std::string out_dir;  // cells.jsonl, models/
  io::RunLog& log;
};

// Runs the plan's cells not in `done` (`skipped` of them are there), appending each record
// to out_dir/cells.jsonl and to `done`; returns how many it ran. A SIGINT/SIGTERM
// (core/stop.h) ends it between cells.
int64_t run_cells(const GridRun& grid, std::map<std::string, nlohmann::json>& done, int64_t skipped);

}  // namespace ssdd::evaluate
