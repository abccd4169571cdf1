#include "ssdd/io/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "ssdd/core/error.h"
#include "ssdd/core/format.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/axis_ticks.h"

namespace ssdd::io::svg {
namespace {

constexpr const char* kGrid = "#e6e6e6";
constexpr const char* kMinorGrid = "#f3f3f3";
constexpr const char* kFrame = "#646464";
constexpr const char* kText = "#1e1e1e";
constexpr double kFont = 13;  // ticks, axis labels, legend
constexpr double kTitleFont = 16;
constexpr double kValueFont = 11;  // numbers above bars
constexpr double kPad = 8;
constexpr double kTick = 5;
constexpr double kRow = kFont + 7;  // a legend row
constexpr double kSwatch = 22;
constexpr size_t kMarkersUpTo = 30;  // a series with fewer points shows each as a dot

// Coordinates with one decimal, a tenth of a pixel at 100%. Clamped, so that a wild value
// cannot print "inf" or a 300-digit number.
std::string num(double v) {
  const std::string s = fmt::format("{:.1f}", std::clamp(v, -1e6, 1e6));
  return s == "-0.0" ? "0.0" : s;
}

// The browser measures the text, not this code: an estimate (sans-serif glyphs average a
// little under 0.6 em) only reserves margins and sizes legend boxes.
double text_width(const std::string& s, double size) {
  size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;  // UTF-8: count the lead bytes
  return static_cast<double>(chars) * size * 0.6;
}

struct Area {
  double x = 0, y = 0, w = 0, h = 0;
  double right() const { return x + w; }
  double bottom() const { return y + h; }
  bool contains(double px, double py) const { return px >= x && px <= right() && py >= y && py <= bottom(); }
};

// Axis space (log10 on a log axis) to user units.
struct Scale {
  double lo, hi, p0, p1;
  double operator()(double v) const { return p0 + (v - lo) / (hi - lo) * (p1 - p0); }
};

struct Point {
  double x, y;
};

void check_size(int width, int height) {
  if (width < 200 || height < 150)
    throw Error("chart size must be at least 200x150, got " + std::to_string(width) + "x" + std::to_string(height));
}

std::string open_svg(int width, int height, const std::string& title) {
  std::string out = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ssdd-chart\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"system-ui, sans-serif\" font-size=\"{2}\" fill=\"{3}\">\n",
      width, height, kFont, kText);
  if (!title.empty()) out += "<title>" + escape(title) + "</title>\n";
  return out + fmt::format("<rect width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", width, height);
}

// One line of text; anchor is start, middle or end; extra holds more attributes.
void text(std::string& out, double x, double y, const std::string& s, const char* anchor,
          const std::string& extra = "") {
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"{}\"{}>{}</text>\n", num(x), num(y), anchor, extra,
                     escape(s));
}

void line(std::string& out, double x1, double y1, double x2, double y2) {
  out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\n", num(x1), num(y1), num(x2), num(y2));
}

double title_height(const std::string& title) { return title.empty() ? kPad : 2 * kPad + kTitleFont; }

// Below the plot area: tick marks, tick labels, the x label.
double bottom_margin(const std::string& x_label) {
  return kTick + kPad / 2 + kFont + (x_label.empty() ? 0 : kPad + kFont) + kPad;
}

double left_margin(const Ticks& yt, const std::string& y_label) {
  double w = 0;
  for (const auto& l : yt.labels) w = std::max(w, text_width(l, kFont));
  return kPad + (y_label.empty() ? 0 : kFont + kPad) + w + kPad / 2 + kTick;
}

int y_tick_target(double plot_h) { return std::clamp(static_cast<int>(plot_h / 60), 3, 10); }

// The baseline of text whose top is at y.
double baseline(double y, double size) { return y + size * 0.8; }

// Grid lines, the frame, tick marks and labels; no x ticks when xt is null (bar charts).
void draw_axes(std::string& out, const Area& p, const Ticks& yt, const Scale& ys, const Ticks* xt,
               const Scale* xs) {
  out += fmt::format("<g class=\"minor-grid\" stroke=\"{}\">\n", kMinorGrid);
  for (double m : yt.minor) line(out, p.x, ys(m), p.right(), ys(m));
  out += fmt::format("</g>\n<g class=\"grid\" stroke=\"{}\">\n", kGrid);
  for (double m : yt.major) line(out, p.x, ys(m), p.right(), ys(m));
  if (xt != nullptr)
    for (double m : xt->major) line(out, (*xs)(m), p.y, (*xs)(m), p.bottom());
  out += fmt::format("</g>\n<rect class=\"plot-area\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" "
                     "stroke=\"{}\"/>\n<g class=\"ticks\" stroke=\"{}\">\n",
                     num(p.x), num(p.y), num(p.w), num(p.h), kFrame, kFrame);
  for (double m : yt.major) line(out, p.x - kTick, ys(m), p.x, ys(m));
  if (xt != nullptr)
    for (double m : xt->major) line(out, (*xs)(m), p.bottom(), (*xs)(m), p.bottom() + kTick);
  out += "</g>\n<g class=\"tick-labels\">\n";
  for (size_t i = 0; i < yt.major.size(); ++i)
    text(out, p.x - kTick - kPad / 2, ys(yt.major[i]), yt.labels[i], "end", " dy=\"0.35em\"");
  if (xt != nullptr)
    for (size_t i = 0; i < xt->major.size(); ++i)
      text(out, (*xs)(xt->major[i]), baseline(p.bottom() + kTick + kPad / 2, kFont), xt->labels[i], "middle");
  out += "</g>\n";
}

void draw_labels(std::string& out, const Chart& f, const Area& p) {
  const std::string &title = f.title, &x_label = f.x_label, &y_label = f.y_label;
  if (!title.empty())
    text(out, f.width / 2.0, baseline(kPad, kTitleFont), title, "middle",
         fmt::format(" class=\"title\" font-size=\"{}\" font-weight=\"bold\"", kTitleFont));
  if (!x_label.empty())
    text(out, p.x + p.w / 2, baseline(p.bottom() + kTick + kPad / 2 + kFont + kPad, kFont), x_label, "middle",
         " class=\"x-label\"");
  if (!y_label.empty()) {
    const double cx = kPad + kFont / 2, cy = p.y + p.h / 2;
    text(out, cx, cy, y_label, "middle",
         fmt::format(" class=\"y-label\" dy=\"0.35em\" transform=\"rotate(-90 {} {})\"", num(cx), num(cy)));
  }
}

void no_data(std::string& out, const Area& p) {
  text(out, p.x + p.w / 2, p.y + p.h / 2, "no data", "middle", " dy=\"0.35em\" fill=\"#808080\"");
}

struct LegendEntry {
  std::string name;
  std::string color;
};

// ---- line charts ------------------------------------------------------------------------

using Run = std::vector<Point>;  // consecutive usable points, in axis space

// The usable points of a series, split into runs at each unusable one.
std::vector<Run> runs_of(const std::vector<double>& x, const std::vector<double>& y, bool log_y) {
  std::vector<Run> runs(1);
  for (size_t i = 0; i < x.size(); ++i) {
    const double ay = log_y ? (y[i] > 0 ? std::log10(y[i]) : NAN) : y[i];
    if (std::isfinite(x[i]) && std::isfinite(ay)) {
      runs.back().push_back({x[i], ay});
    } else if (!runs.back().empty()) {
      runs.emplace_back();  // a gap, not a line across the missing point
    }
  }
  if (runs.back().empty()) runs.pop_back();
  return runs;
}

// x ticks: fewer until the labels stop touching. right: the margin the last label needs.
Ticks x_ticks(double lo, double hi, double left, int width, double& right) {
  Ticks xt;
  for (int target = std::clamp(static_cast<int>((width - left) / 90), 3, 10); target >= 2; --target) {
    xt = linear_ticks(lo, hi, target, true);
    double widest = 0;
    for (const auto& l : xt.labels) widest = std::max(widest, text_width(l, kFont));
    right = std::max(2 * kPad, (xt.labels.empty() ? 0 : text_width(xt.labels.back(), kFont) / 2) + kPad);
    const double per_tick = (width - left - right) * (xt.major.size() > 1 ? xt.step / (xt.hi - xt.lo) : 1.0);
    if (widest + 3 * kPad <= per_tick) break;
  }
  return xt;
}

// The legend box goes into the corner of the plot area that the curves cross least.
Area place_legend(const Area& p, const std::vector<LegendEntry>& entries, const std::vector<std::vector<Run>>& screen) {
  double w = 0;
  for (const auto& e : entries) w = std::max(w, text_width(e.name, kFont));
  const double bw = kPad + kSwatch + kPad / 2 + w + kPad, bh = kPad + entries.size() * kRow;
  const double m = kPad;
  const Area corners[4] = {{p.right() - m - bw, p.y + m, bw, bh},
                           {p.x + m, p.y + m, bw, bh},
                           {p.right() - m - bw, p.bottom() - m - bh, bw, bh},
                           {p.x + m, p.bottom() - m - bh, bw, bh}};
  Area best = corners[0];
  long best_hits = -1;
  for (const Area& c : corners) {
    long hits = 0;
    for (const auto& runs : screen)
      for (const Run& run : runs)
        for (size_t i = 0; i < run.size(); ++i) {
          hits += c.contains(run[i].x, run[i].y);
          if (i == 0) continue;
          const Point& a = run[i - 1];
          for (double t : {0.25, 0.5, 0.75})  // a long segment can cross a corner between its points
            hits += c.contains(a.x + t * (run[i].x - a.x), a.y + t * (run[i].y - a.y));
        }
    if (best_hits < 0 || hits < best_hits) best_hits = hits, best = c;
  }
  return best;
}

void draw_line_legend(std::string& out, const Area& box, const std::vector<LegendEntry>& entries) {
  out += fmt::format("<g class=\"legend\">\n<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\" "
                     "fill-opacity=\"0.88\" stroke=\"#bebebe\"/>\n",
                     num(box.x), num(box.y), num(box.w), num(box.h));
  for (size_t i = 0; i < entries.size(); ++i) {
    const double cy = box.y + kPad / 2 + i * kRow + kRow / 2, x0 = box.x + kPad;
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>\n", num(x0),
                       num(cy), num(x0 + kSwatch), num(cy), entries[i].color);
    text(out, x0 + kSwatch + kPad / 2, cy, entries[i].name, "start", " dy=\"0.35em\"");
  }
  out += "</g>\n";
}

// The runs as polylines (and dots), inside a nested <svg> that clips to the plot area
// plus a margin for the stroke, with no id to collide when a page inlines several charts.
void draw_runs(std::string& out, const Area& p, const std::vector<std::vector<Run>>& screen) {
  const double m = 4;
  out += fmt::format("<svg class=\"data\" x=\"{0}\" y=\"{1}\" width=\"{2}\" height=\"{3}\" viewBox=\"{0} {1} {2} {3}\" "
                     "overflow=\"hidden\">\n",
                     num(p.x - m), num(p.y - m), num(p.w + 2 * m), num(p.h + 2 * m));
  for (size_t si = 0; si < screen.size(); ++si) {
    const std::string color = palette_color(si);
    size_t points = 0;
    for (const Run& run : screen[si]) points += run.size();
    for (const Run& run : screen[si]) {
      if (run.size() >= 2) {
        out += fmt::format("<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\" "
                           "stroke-width=\"2\" stroke-linejoin=\"round\" stroke-linecap=\"round\" points=\"",
                           si, color);
        for (size_t i = 0; i < run.size(); ++i) out += (i ? " " : "") + num(run[i].x) + "," + num(run[i].y);
        out += "\"/>\n";
      }
      // A lone point would otherwise be invisible.
      if (points <= kMarkersUpTo || run.size() == 1)
        for (const Point& pt : run)
          out += fmt::format("<circle class=\"marker\" data-series=\"{}\" cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n",
                             si, num(pt.x), num(pt.y), color);
    }
  }
  out += "</svg>\n";
}

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t' || c == '\n') out += c;
    }
  }
  return out;
}

std::string palette_color(size_t index) {
  // Picked by hand: strong hues first, then lighter and muddier ones.
  static const char* const kPalette[] = {"#1f64c8", "#eb7814", "#289b3c", "#cd2832", "#8755be",
                                         "#7d5032", "#e15faf", "#5f5f5f", "#a5a519", "#14aac3"};
  return kPalette[index % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

void LineChart::add_series(const std::string& name, std::vector<double> x, std::vector<double> y) {
  if (x.size() != y.size())
    throw Error("line chart series '" + name + "': " + std::to_string(x.size()) + " x values but " +
                std::to_string(y.size()) + " y values");
  series_.push_back(Series{name, std::move(x), std::move(y)});
}

void LineChart::add_series(const std::string& name, std::vector<double> y) {
  std::vector<double> x(y.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i + 1);
  add_series(name, std::move(x), std::move(y));
}

std::string LineChart::render() const {
  check_size(width, height);
  std::vector<std::vector<Run>> runs;
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const auto& s : series_) {
    runs.push_back(runs_of(s.x, s.y, log_y));
    for (const Run& run : runs.back())
      for (const Point& pt : run) {
        x_lo = std::min(x_lo, pt.x), x_hi = std::max(x_hi, pt.x);
        y_lo = std::min(y_lo, pt.y), y_hi = std::max(y_hi, pt.y);
      }
  }
  const bool any = x_lo <= x_hi;
  if (!any) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // on a log axis: 1 to 10

  const double top = title_height(title);
  const double plot_h = std::max(20.0, height - top - bottom_margin(x_label));
  const Ticks yt = log_y ? log_ticks(std::pow(10.0, y_lo), std::pow(10.0, y_hi), y_tick_target(plot_h))
                         : linear_ticks(y_lo, y_hi, y_tick_target(plot_h), true);
  const double left = left_margin(yt, y_label);
  double right = 2 * kPad;
  const Ticks xt = x_ticks(x_lo, x_hi, left, width, right);
  const Area p{left, top, std::max(20.0, width - left - right), plot_h};
  const Scale xs{xt.lo, xt.hi, p.x, p.right()}, ys{yt.lo, yt.hi, p.bottom(), p.y};

  std::string out = open_svg(width, height, title);
  draw_axes(out, p, yt, ys, &xt, &xs);
  draw_labels(out, *this, p);
  for (auto& series : runs)
    for (Run& run : series)
      for (Point& pt : run) pt = {xs(pt.x), ys(pt.y)};
  draw_runs(out, p, runs);
  if (!any) no_data(out, p);
  if (!series_.empty()) {
    std::vector<LegendEntry> entries;
    for (size_t i = 0; i < series_.size(); ++i)
      entries.push_back({runs[i].empty() ? series_[i].name + " (no data)" : series_[i].name, palette_color(i)});
    draw_line_legend(out, place_legend(p, entries, runs), entries);
  }
  return out + "</svg>\n";
}


// ---- bar charts -------------------------------------------------------------------------

namespace {

double spread(const std::vector<double>& sd, size_t g) {
  return g < sd.size() && std::isfinite(sd[g]) ? std::abs(sd[g]) : 0.0;
}

// Legend entries in rows under the title, wrapped at the chart's width, so none covers a bar.
std::vector<std::vector<size_t>> wrap_legend(const std::vector<LegendEntry>& entries, int width,
                                             std::vector<double>& entry_w) {
  std::vector<std::vector<size_t>> rows;
  double used = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    entry_w.push_back(kSwatch / 2 + kPad / 2 + text_width(entries[i].name, kFont) + 2 * kPad);
    if (rows.empty() || used + entry_w[i] > width - 2 * kPad) rows.emplace_back(), used = 0;
    rows.back().push_back(i);
    used += entry_w[i];
  }
  return rows;
}

void draw_bar_legend(std::string& out, int width, double top, const std::vector<LegendEntry>& entries,
                     const std::vector<std::vector<size_t>>& rows, const std::vector<double>& entry_w) {
  out += "<g class=\"legend\">\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    double w = 0;
    for (size_t i : rows[r]) w += entry_w[i];
    double x = (width - w) / 2 + kPad;
    const double cy = top + r * kRow + kRow / 2;
    for (size_t i : rows[r]) {
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", num(x),
                         num(cy - kSwatch / 4), num(kSwatch / 2), num(kSwatch / 2), entries[i].color);
      text(out, x + kSwatch / 2 + kPad / 2, cy, entries[i].name, "start", " dy=\"0.35em\"");
      x += entry_w[i];
    }
  }
  out += "</g>\n";
}

// A group name shortened with an ellipsis until it fits its slot.
std::string fit(std::string label, double width) {
  if (text_width(label, kFont) <= width) return label;
  while (!label.empty() && text_width(label + "\u2026", kFont) > width) {
    while (label.size() > 1 && (static_cast<unsigned char>(label.back()) & 0xC0) == 0x80) label.pop_back();
    label.pop_back();  // the whole UTF-8 character
  }
  return label + "\u2026";
}

struct BarLayout {
  Area p;
  Scale ys{0, 1, 0, 1};
  double base = 0;   // where bars start: 0, or the nearer axis end
  double slot = 0;   // width of a group
  double bar_w = 0;  // width of one bar
};

// One series' bars, error bars and value labels.
void draw_bars(std::string& out, const std::string& name, const std::vector<double>& mean,
               const std::vector<double>& sd, size_t si, const BarLayout& g, const std::vector<std::string>& groups,
               bool value_labels) {
  const std::string color = palette_color(si);
  const double gap = g.bar_w >= 6 ? 0.5 : 0.0;  // a hairline between neighbouring bars
  for (size_t k = 0; k < mean.size(); ++k) {
    if (!std::isfinite(mean[k])) continue;
    const double x0 = g.p.x + k * g.slot + g.slot * 0.1 + si * g.bar_w, cx = x0 + g.bar_w / 2;
    const double yv = g.ys(std::clamp(mean[k], g.ys.lo, g.ys.hi)), yb = g.ys(g.base), e = spread(sd, k);
    const std::string tip = name + ", " + groups[k] + ": " + format_number(mean[k], 4) +
                            (e > 0 ? " \u00b1 " + format_number(e, 3) : "");
    out += fmt::format("<rect class=\"bar\" data-series=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                       "fill=\"{}\"><title>{}</title></rect>\n",
                       si, num(x0 + gap), num(std::min(yv, yb)), num(std::max(0.0, g.bar_w - 2 * gap)),
                       num(std::abs(yb - yv)), color, escape(tip));
    double label_y = yv;
    if (e > 0) {
      const double y_top = g.ys(mean[k] + e), y_bot = g.ys(mean[k] - e), cap = std::min(g.bar_w * 0.4, 10.0) / 2;
      out += fmt::format("<path class=\"error-bar\" d=\"M{0} {1}V{2}M{3} {1}H{4}M{3} {2}H{4}\" stroke=\"{5}\" "
                         "stroke-width=\"1.5\" fill=\"none\"/>\n",
                         num(cx), num(y_top), num(y_bot), num(cx - cap), num(cx + cap), kText);
      label_y = mean[k] >= 0 ? y_top : y_bot;
    }
    const std::string value = format_number(mean[k], 3);
    if (value_labels && text_width(value, kValueFont) <= g.bar_w * 1.25)
      text(out, cx, mean[k] >= 0 ? label_y - 3 : label_y + 3 + kValueFont * 0.8, value, "middle",
           fmt::format(" class=\"value\" font-size=\"{}\"", kValueFont));
  }
}

}  // namespace

void BarChart::add_series(const std::string& name, std::vector<double> mean, std::vector<double> std) {
  if (!std.empty() && std.size() != mean.size())
    throw Error("bar chart series '" + name + "': " + std::to_string(mean.size()) + " means but " +
                std::to_string(std.size()) + " standard deviations");
  if (mean.size() != groups.size())
    throw Error("bar chart series '" + name + "': " + std::to_string(mean.size()) + " values for " +
                std::to_string(groups.size()) + " groups");
  series_.push_back(Series{name, std::move(mean), std::move(std)});
}

std::string BarChart::render() const {
  check_size(width, height);
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : series_) {
    if (s.mean.size() != groups.size())  // groups changed after add_series
      throw Error("bar chart series '" + s.name + "': " + std::to_string(s.mean.size()) + " values for " +
                  std::to_string(groups.size()) + " groups");
    for (size_t g = 0; g < s.mean.size(); ++g) {
      if (!std::isfinite(s.mean[g])) continue;
      const double down = s.mean[g] - spread(s.std, g), up = s.mean[g] + spread(s.std, g);
      lo = std::min(lo, std::isfinite(down) ? down : s.mean[g]);
      hi = std::max(hi, std::isfinite(up) ? up : s.mean[g]);
    }
  }
  const bool any = lo <= hi;
  if (!any) lo = 0, hi = 1;
  if (y_from_zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  if (value_labels) hi += (hi - lo) * 0.08;  // head-room for the numbers above the bars

  std::vector<LegendEntry> entries;
  for (size_t i = 0; i < series_.size(); ++i) entries.push_back({series_[i].name, palette_color(i)});
  std::vector<double> entry_w;
  const auto rows = wrap_legend(entries, width, entry_w);
  const double legend_top = title_height(title), top = legend_top + rows.size() * kRow + kPad;
  const double plot_h = std::max(20.0, height - top - bottom_margin(x_label));
  const Ticks yt = linear_ticks(lo, hi, y_tick_target(plot_h), true);
  const double left = left_margin(yt, y_label);
  BarLayout g;
  g.p = {left, top, std::max(20.0, width - left - 2 * kPad), plot_h};
  g.ys = {yt.lo, yt.hi, g.p.bottom(), g.p.y};
  g.base = std::clamp(0.0, yt.lo, yt.hi);
  g.slot = g.p.w / static_cast<double>(std::max<size_t>(1, groups.size()));
  g.bar_w = series_.empty() ? 0.0 : g.slot * 0.8 / static_cast<double>(series_.size());

  std::string out = open_svg(width, height, title);
  draw_axes(out, g.p, yt, g.ys, nullptr, nullptr);
  draw_labels(out, *this, g.p);
  out += "<g class=\"group-labels\">\n";
  for (size_t k = 0; k < groups.size(); ++k)
    text(out, g.p.x + (k + 0.5) * g.slot, baseline(g.p.bottom() + kTick + kPad / 2, kFont), fit(groups[k], g.slot - 4),
         "middle");
  out += "</g>\n";
  if (yt.lo < 0 && yt.hi > 0) {
    out += fmt::format("<g class=\"zero\" stroke=\"{}\">\n", kFrame);
    line(out, g.p.x, g.ys(0), g.p.right(), g.ys(0));
    out += "</g>\n";
  }
  for (size_t si = 0; si < series_.size(); ++si)
    draw_bars(out, series_[si].name, series_[si].mean, series_[si].std, si, g, groups, value_labels);
  if (!any) no_data(out, g.p);
  draw_bar_legend(out, width, legend_top, entries, rows, entry_w);
  return out + "</svg>\n";
}

void Chart::save(const std::string& path) const { write_file_atomic(path, render()); }

}  // namespace ssdd::io::svg
