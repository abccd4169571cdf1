// The pictures of a report: linked by path from report.md, embedded in report.html.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ssdd::report {

// Linked: a path relative to the run folder (report.md). Embedded (the self-contained
// report.html): a PNG as a data: URI, an SVG chart as a placeholder image that
// inline_charts() replaces by the SVG itself: cmark-gfm's safe mode drops raw HTML and SVG
// data: URIs, and inline SVG keeps the charts' text as text.
class Pictures {
 public:
  Pictures(std::string run_dir, bool embed) : run_dir_(std::move(run_dir)), embed_(embed) {}

  // A Markdown image of `path`; "" when the file is missing.
  std::string image(const std::string& path, const std::string& alt);
  // A chart: dir/stem.svg, or dir/stem.png in a folder written before the charts were SVG.
  std::string chart(const std::string& dir, const std::string& stem, const std::string& alt);

  // The rendered page with each placeholder's <img> replaced by its SVG, or by a note when
  // the file is not an SVG chart that is safe to inline.
  std::string inline_charts(std::string html) const;

 private:
  std::string run_dir_;
  bool embed_;
  std::vector<std::string> svgs_;  // the file behind placeholder i
};

}  // namespace ssdd::report
