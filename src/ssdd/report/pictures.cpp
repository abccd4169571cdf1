#include "ssdd/report/pictures.h"

#include <cctype>
#include <filesystem>
#include <regex>
#include <set>

#include "ssdd/io/atomic_file.h"
#include "ssdd/io/png_write.h"

namespace ssdd::report {
namespace fs = std::filesystem;
namespace {

constexpr uintmax_t kMaxSvgBytes = 16u << 20;  // ssdd's charts are tens of kilobytes

std::string placeholder(size_t index) { return "ssdd-inline-chart-" + std::to_string(index) + ".svg"; }

std::string relative_to(const std::string& path, const std::string& base) {
  std::error_code ec;
  const auto rel = fs::relative(path, base, ec);
  return ec || rel.empty() ? path : rel.string();
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// SVG that io/svg_chart.h could have written: its elements only, and no attribute that runs
// or fetches anything (event handlers, links, url() references). The page inlines it, so a
// hand-made file in a run folder must not bring a script along.
bool plain_svg(const std::string& svg) {
  static const std::set<std::string> kElements = {"svg", "g", "title", "rect", "line", "polyline", "path", "circle",
                                                  "text"};
  static const std::regex kActive(R"(\son[a-z]*\s*=|href|url\s*\(|javascript:|style\s*=)", std::regex::icase);
  if (svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) != 0) return false;
  for (size_t open = svg.find('<'); open != std::string::npos; open = svg.find('<', open + 1)) {
    const size_t close = svg.find('>', open);
    if (close == std::string::npos) return false;
    size_t name = open + 1 + (svg[open + 1] == '/');
    size_t end = name;
    while (end < close && std::isalpha(static_cast<unsigned char>(svg[end]))) ++end;
    if (kElements.count(svg.substr(name, end - name)) == 0) return false;  // also <!-- -->, <?...?>, CDATA
    if (std::regex_search(svg.begin() + static_cast<std::ptrdiff_t>(open),
                          svg.begin() + static_cast<std::ptrdiff_t>(close), kActive))
      return false;
  }
  return true;
}

std::string inline_svg(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = fs::file_size(path, ec);
  if (!ec && size <= kMaxSvgBytes) {
    const std::string svg = io::read_file(path);
    if (plain_svg(svg)) return svg;
  }
  std::string shown;
  for (char c : fs::path(path).filename().string())
    shown += c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '&' ? "&amp;" : std::string(1, c);
  return "<em>(" + shown + " is left out: not an SVG chart of ssdd's)</em>";
}

}  // namespace

std::string Pictures::image(const std::string& path, const std::string& alt) {
  if (!io::file_exists(path)) return "";
  std::string url = relative_to(path, run_dir_);
  if (embed_ && ends_with(path, ".svg")) {
    url = placeholder(svgs_.size());
    svgs_.push_back(path);
  } else if (embed_) {
    const std::string bytes = io::read_file(path);
    url = io::png_data_uri(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  return "![" + alt + "](" + url + ")";
}

std::string Pictures::chart(const std::string& dir, const std::string& stem, const std::string& alt) {
  const std::string svg = dir + "/" + stem + ".svg";
  return image(io::file_exists(svg) ? svg : dir + "/" + stem + ".png", alt);
}

std::string Pictures::inline_charts(std::string html) const {
  for (size_t i = 0; i < svgs_.size(); ++i) {
    // cmark-gfm writes <img src="URL" alt="..." />; the placeholder URL needs no escaping.
    const size_t at = html.find("<img src=\"" + placeholder(i) + "\"");
    if (at == std::string::npos) continue;
    const size_t end = html.find("/>", at);
    if (end == std::string::npos) continue;
    html.replace(at, end + 2 - at, inline_svg(svgs_[i]));
  }
  return html;
}

}  // namespace ssdd::report
