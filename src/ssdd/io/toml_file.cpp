#include "ssdd/io/toml_file.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

#include "ssdd/core/error.h"

namespace ssdd::io {
namespace {

// TOML values map onto JSON one to one, except dates and times, which no stage takes.
nlohmann::json to_json(const toml::node& node, const std::string& where) {
  if (const auto* table = node.as_table()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [key, value] : *table) {
      const std::string k(key.str());
      j[k] = to_json(value, where.empty() ? k : where + "." + k);
    }
    return j;
  }
  if (const auto* array = node.as_array()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& value : *array) j.push_back(to_json(value, where));
    return j;
  }
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return i->get();
  if (const auto* f = node.as_floating_point()) return f->get();
  if (const auto* b = node.as_boolean()) return b->get();
  std::ostringstream at;
  at << node.source().begin;
  throw ConfigError(where, "dates and times are not settings (" + at.str() + ")");
}

// Debian's toml++ 3.3 reaches __builtin_unreachable (undefined behaviour) on some non-ASCII
// characters outside strings, such as the key in `é = 1` (found by fuzz_config). TOML 1.0
// allows non-ASCII only inside strings and comments, so such a text is refused here, with
// its line and column, before toml++ sees it.
// A quote opens a string only where toml++ reads one: at the start of a key or a value
// (after a newline, `=`, `[`, `,` or `{`), or after the `.` of a dotted key, before the
// line's `=`. Inside a bare token toml++ takes quotes as part of it (`0"é"` is one bad
// value, scanned character by character: fuzz/regressions/config), so there they are code
// and what follows is checked. Up to toml++'s first error the two views agree, and toml++
// reads no further; where they might not (exotic valid files), this refuses, never passes.
void refuse_non_ascii_outside_strings(const std::string& text, const std::string& source) {
  enum class In { kCode, kComment, kBasic, kLiteral, kBasicMultiline, kLiteralMultiline } in = In::kCode;
  auto at = [&](size_t i, const char* token) { return text.compare(i, std::strlen(token), token) == 0; };
  // A multi-line string ends at its first run of three quotes, which may be followed by up
  // to two more quotes that belong to the string.
  auto closing = [&](size_t& i, char quote) {
    const char triple[] = {quote, quote, quote, '\0'};
    if (!at(i, triple)) return false;
    i += 2;
    for (int extra = 0; extra < 2 && i + 1 < text.size() && text[i + 1] == quote; ++extra) ++i;
    return true;
  };
  char previous = '\n';         // the last character of code that is not a space or a tab
  bool equals_on_line = false;  // a `=` seen on this line, outside strings
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    switch (in) {
      case In::kCode: {
        if (static_cast<unsigned char>(c) >= 0x80) {
          const size_t line_start = text.rfind('\n', i) == std::string::npos ? 0 : text.rfind('\n', i) + 1;
          const auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(i), '\n');
          throw ConfigError(source + ":" + std::to_string(line) + ":" + std::to_string(i - line_start + 1),
                            "a non-ASCII character outside a string or comment (TOML keys are ASCII; quote it)");
        }
        const bool string_may_start =
            (previous != '\0' && std::strchr("\n\r=[,{", previous) != nullptr) || (previous == '.' && !equals_on_line);
        if (c == '#') {
          in = In::kComment;
        } else if ((c == '"' || c == '\'') && string_may_start) {
          if (at(i, "\"\"\"")) in = In::kBasicMultiline, i += 2;
          else if (at(i, "'''")) in = In::kLiteralMultiline, i += 2;
          else in = c == '"' ? In::kBasic : In::kLiteral;
        }
        if (c == '\n') equals_on_line = false;
        if (c == '=') equals_on_line = true;
        if (c != ' ' && c != '\t') previous = c;
        break;
      }
      case In::kComment:
        if (c == '\n') in = In::kCode, previous = '\n', equals_on_line = false;
        break;
      case In::kBasic:  // a newline ends it too: toml++ reports the unterminated string
        if (c == '\\') ++i;
        else if (c == '"' || c == '\n') in = In::kCode, previous = c;
        break;
      case In::kLiteral:
        if (c == '\'' || c == '\n') in = In::kCode, previous = c;
        break;
      case In::kBasicMultiline:
        if (c == '\\') ++i;
        else if (closing(i, '"')) in = In::kCode, previous = '"';
        break;
      case In::kLiteralMultiline:
        if (closing(i, '\'')) in = In::kCode, previous = '\'';
        break;
    }
  }
}

}  // namespace

nlohmann::json parse_toml(const std::string& text, const std::string& source) {
  refuse_non_ascii_outside_strings(text, source);
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw ConfigError(source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column),
                      std::string(e.description()));
  }
  try {
    return to_json(table, "");
  } catch (const ConfigError& e) {
    throw ConfigError(source, e.what());
  }
}

nlohmann::json parse_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, "a readable TOML file", "no such file or no permission");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_toml(text.str(), path);
}

}  // namespace ssdd::io
