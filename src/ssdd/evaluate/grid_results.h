// The grid's results (grid.h): every planned cell's record with the mean/std per row x arch x
// target (results.json), the tables (results_markdown, in grid.h) and the bar chart.
// Internal to evaluate/.
#pragma once
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/io/grid_results_file.h"

namespace ssdd::teacher {
struct Teacher;
}

namespace ssdd::evaluate {

struct GridConfig;
struct GridPlan;

// What results.json holds, from the records of every planned cell in `done` (by key).
io::GridResults grid_results(const GridConfig& config, const GridPlan& plan, const teacher::Teacher& teacher,
                             const std::map<std::string, nlohmann::json>& done);

// results.json, results.md and results.svg (the first table's bar chart) in out_dir.
void write_results(const io::GridResults& results, const std::string& out_dir);

// results.md's text (grid.h has the overload for a results.json object).
std::string results_markdown(const io::GridResults& results);

}  // namespace ssdd::evaluate
