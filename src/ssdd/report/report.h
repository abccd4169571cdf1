// report.md and report.html from a run folder (experiment/run_experiment.h), read from the
// files the stages left there: run.json, each grid's results.json/results.md/results.svg, the
// teacher's loss.svg/probe.svg, each distilled set's metrics.json, loss.svg and images.png
// (charts of folders from before SVG: the .png). It knows nothing of how they were computed.
#pragma once
#include <string>
#include <vector>

#include "ssdd/io/grid_results_file.h"

namespace ssdd::report {

// Writes run_dir/report.md (images linked by relative path) and run_dir/report.html
// (self-contained: PNGs embedded, SVG charts inline, opens in any browser).
void write_report(const std::string& run_dir);

// The report's Markdown, images linked by paths relative to run_dir.
std::string report_markdown(const std::string& run_dir);
// The self-contained HTML page.
std::string report_html(const std::string& run_dir);

// "Claim check" lines for one grid's results.json: does each listed row beat the next on
// the probe of `arch` and `target`, and by more than both rows' standard deviations?
// Rows absent from the results are left out of the chain.
std::string ordering_check(const io::GridResults& results, const std::vector<std::string>& chain);

// Markdown (GitHub tables) to an HTML page with a small built-in style sheet (cmark-gfm).
std::string markdown_to_html_page(const std::string& markdown, const std::string& title);

}  // namespace ssdd::report
