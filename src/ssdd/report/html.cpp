#include <cmark-gfm-core-extensions.h>
#include <cmark-gfm.h>

#include <cstdlib>
#include <memory>

#include "ssdd/core/error.h"
#include "ssdd/report/report.h"

namespace ssdd::report {

namespace {
const char* kStyle = R"css(
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { margin-top: 2em; border-bottom: 1px solid #eee; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: .3em .7em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
img, svg.ssdd-chart { max-width: 100%; height: auto; border: 1px solid #ddd; margin: .3em 0; }
code { background: #f5f5f5; padding: 0 .2em; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; }
)css";

std::string escape_html(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}
}  // namespace

std::string markdown_to_html_page(const std::string& markdown, const std::string& title) {
  cmark_gfm_core_extensions_ensure_registered();
  std::unique_ptr<cmark_parser, decltype(&cmark_parser_free)> parser(cmark_parser_new(CMARK_OPT_DEFAULT),
                                                                      cmark_parser_free);
  cmark_syntax_extension* table = cmark_find_syntax_extension("table");
  if (!table) throw Error("cmark-gfm: the table extension is missing");
  cmark_parser_attach_syntax_extension(parser.get(), table);
  cmark_parser_feed(parser.get(), markdown.data(), markdown.size());
  std::unique_ptr<cmark_node, decltype(&cmark_node_free)> doc(cmark_parser_finish(parser.get()), cmark_node_free);
  // Safe mode (the default) drops raw HTML and unsafe links but keeps data:image/png URIs;
  // SVG charts go in afterwards (pictures.h).
  char* body = cmark_render_html(doc.get(), CMARK_OPT_DEFAULT, cmark_parser_get_syntax_extensions(parser.get()));
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                     escape_html(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n" + body +
                     "</body>\n</html>\n";
  std::free(body);
  return html;
}

}  // namespace ssdd::report
