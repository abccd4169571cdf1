// The markdown of a grid's results: the protocol, one table per probe protocol, the
// cross-architecture, fine-tuning and alignment tables. The grid writes it as results.md; the
// run's report embeds it under its own heading.
#pragma once
#include <string>

#include "ssdd/io/grid_results_file.h"

namespace ssdd::io {

struct ResultsMarkdownOptions {
  bool title = true;      // "# Evaluation results" first
  int section_level = 2;  // the tables' headings: "##" in results.md
};

std::string grid_results_markdown(const GridResults& results, const ResultsMarkdownOptions& options = {});

}  // namespace ssdd::io
