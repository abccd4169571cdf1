#include "ssdd/io/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "ssdd/core/error.h"

namespace ssdd::io {
namespace {

constexpr Rgb kGrid{230, 230, 230};
constexpr Rgb kMinorGrid{244, 244, 244};
constexpr Rgb kFrame{100, 100, 100};
constexpr Rgb kText{30, 30, 30};
constexpr Rgb kErrorBar{30, 30, 30};
constexpr int kMaxTicks = 100;

// Drops trailing zeros of the mantissa: "1.500e-05" -> "1.5e-05", "2.00" -> "2".
std::string strip_zeros(const std::string& s) {
  const size_t e = s.find('e');
  std::string mantissa = s.substr(0, e);
  const std::string exponent = e == std::string::npos ? "" : s.substr(e);
  if (mantissa.find('.') != std::string::npos) {
    while (!mantissa.empty() && mantissa.back() == '0') mantissa.pop_back();
    if (!mantissa.empty() && mantissa.back() == '.') mantissa.pop_back();
  }
  return mantissa + exponent;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", std::clamp(decimals, 0, 20), v);
  return buf;
}

int decimals_for(double magnitude, int significant) {
  return std::max(0, significant - 1 - static_cast<int>(std::floor(std::log10(magnitude))));
}

// 1, 2 or 5 times a power of ten, at least raw.
double nice_step(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1.0;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  const double m = f <= 1.0 + 1e-9 ? 1.0 : f <= 2.0 + 1e-9 ? 2.0 : f <= 5.0 + 1e-9 ? 5.0 : 10.0;
  return m * p;
}

int auto_text_scale(int requested, int width, int height) {
  if (requested > 0) return requested;
  return std::max(1, std::min(width / 640, height / 400));
}

void check_size(int width, int height) {
  if (width < 120 || height < 90) {
    throw Error("chart size must be at least 120x90, got " + std::to_string(width) + "x" + std::to_string(height));
  }
}

// Restricts ticks to [lo, hi] after a fixed end replaced an expanded one.
void apply_limits(Ticks& t, std::optional<double> lo, std::optional<double> hi, bool log) {
  auto ok = [](std::optional<double> v, bool log_axis) { return v && std::isfinite(*v) && (!log_axis || *v > 0); };
  if (ok(lo, log)) t.lo = log ? std::log10(*lo) : *lo;
  if (ok(hi, log)) t.hi = log ? std::log10(*hi) : *hi;
  if (t.hi <= t.lo) t.hi = t.lo + (log ? 1.0 : std::max(1.0, std::abs(t.lo)));
  const double eps = (t.hi - t.lo) * 1e-9;
  std::vector<double> major;
  std::vector<std::string> labels;
  for (size_t i = 0; i < t.major.size(); ++i) {
    if (t.major[i] >= t.lo - eps && t.major[i] <= t.hi + eps) {
      major.push_back(t.major[i]);
      labels.push_back(t.labels[i]);
    }
  }
  t.major = std::move(major);
  t.labels = std::move(labels);
  t.minor.erase(std::remove_if(t.minor.begin(), t.minor.end(),
                               [&](double m) { return m < t.lo - eps || m > t.hi + eps; }),
                t.minor.end());
}

// A fixed axis end replaces the data's end before ticks are chosen (axis space: log10 on
// log axes; unusable fixed values are ignored).
void override_end(double& end, std::optional<double> fixed_end, bool log) {
  if (!fixed_end || !std::isfinite(*fixed_end) || (log && *fixed_end <= 0)) return;
  end = log ? std::log10(*fixed_end) : *fixed_end;
}

// Pixel mapping of one axis; v is already in axis space (log10 on log axes).
struct Scale {
  double lo, hi;
  double p0, p1;  // pixel positions of lo and hi
  double operator()(double v) const { return p0 + (v - lo) / (hi - lo) * (p1 - p0); }
};

struct Frame {
  int s;  // text scale
  int pad, tick, th;
  Rect plot;
};

int max_label_width(const std::vector<std::string>& labels, int s) {
  int w = 0;
  for (const auto& l : labels) w = std::max(w, text_width(l, s));
  return w;
}

void draw_grid_and_frame(Canvas& c, const Frame& f, const Ticks& yt, const Scale& ys, const Ticks* xt,
                         const Scale* xs) {
  const Rect& p = f.plot;
  for (double m : yt.minor) {
    const double y = std::round(ys(m));
    c.draw_line(p.x, y, p.right() - 1, y, kMinorGrid, 1, false);
  }
  for (double m : yt.major) {
    const double y = std::round(ys(m));
    c.draw_line(p.x, y, p.right() - 1, y, kGrid, 1, false);
  }
  if (xt != nullptr) {
    for (double m : xt->major) {
      const double x = std::round((*xs)(m));
      c.draw_line(x, p.y, x, p.bottom() - 1, kGrid, 1, false);
    }
  }
  // The frame sits one pixel outside the plot area so data never hides it.
  c.draw_rect(Rect{p.x - 1, p.y - 1, p.w + 2, p.h + 2}, kFrame);
  for (size_t i = 0; i < yt.major.size(); ++i) {
    const int y = static_cast<int>(std::round(ys(yt.major[i])));
    c.fill_rect(Rect{p.x - 1 - f.tick, y, f.tick, std::max(1, f.s / 2)}, kFrame);
    c.draw_text(p.x - 1 - f.tick - f.pad / 2, y, yt.labels[i], kText, f.s, HAlign::kRight, VAlign::kMiddle);
  }
  if (xt != nullptr) {
    for (size_t i = 0; i < xt->major.size(); ++i) {
      const int x = static_cast<int>(std::round((*xs)(xt->major[i])));
      c.fill_rect(Rect{x, p.bottom() + 1, std::max(1, f.s / 2), f.tick}, kFrame);
      c.draw_text(x, p.bottom() + 1 + f.tick + f.pad / 2, xt->labels[i], kText, f.s, HAlign::kCenter);
    }
  }
}

void draw_titles(Canvas& c, const Frame& f, const std::string& title, const std::string& x_label,
                 const std::string& y_label, int x_label_top) {
  if (!title.empty()) {
    const int ts = text_width(title, 2 * f.s) <= c.width() - 2 * f.pad ? 2 * f.s : f.s;
    c.draw_text(c.width() / 2, f.pad, title, kText, ts, HAlign::kCenter);
  }
  if (!x_label.empty()) {
    c.draw_text(f.plot.x + f.plot.w / 2, x_label_top, x_label, kText, f.s, HAlign::kCenter);
  }
  if (!y_label.empty()) {
    c.draw_text_vertical(f.pad + f.th / 2, f.plot.y + f.plot.h / 2, y_label, kText, f.s);
  }
}

int title_height(const Frame& f, const std::string& title) {
  return title.empty() ? f.pad : f.pad + text_height(2 * f.s) + f.pad;
}

struct LegendEntry {
  std::string name;
  Rgb color;
  bool bar;  // a filled square (bars) or a line with a dot (line plots)
};

Rect legend_size(const std::vector<LegendEntry>& entries, const Frame& f) {
  int w = 0;
  for (const auto& e : entries) w = std::max(w, text_width(e.name, f.s));
  const int swatch = 16 * f.s;
  const int row = f.th + 4 * f.s;
  return Rect{0, 0, f.pad + swatch + f.pad / 2 + w + f.pad, f.pad / 2 * 2 + static_cast<int>(entries.size()) * row};
}

void draw_legend(Canvas& c, const Rect& box, const std::vector<LegendEntry>& entries, const Frame& f,
                 double line_width) {
  // Slightly see-through, so a curve passing underneath is still hinted at.
  for (int y = box.y; y < box.bottom(); ++y) {
    for (int x = box.x; x < box.right(); ++x) c.blend_pixel(x, y, colors::kWhite, 0.88);
  }
  c.draw_rect(box, Rgb{190, 190, 190});
  const int swatch = 16 * f.s;
  const int row = f.th + 4 * f.s;
  for (size_t i = 0; i < entries.size(); ++i) {
    const int cy = box.y + f.pad / 2 + static_cast<int>(i) * row + row / 2;
    const int x0 = box.x + f.pad;
    if (entries[i].bar) {
      c.fill_rect(Rect{x0 + swatch / 4, cy - swatch / 4 - 1, swatch / 2 + 1, swatch / 2 + 1}, entries[i].color);
    } else {
      c.draw_line(x0, cy, x0 + swatch - 1, cy, entries[i].color, line_width);
    }
    c.draw_text(x0 + swatch + f.pad / 2, cy, entries[i].name, kText, f.s, HAlign::kLeft, VAlign::kMiddle);
  }
}

}  // namespace

Rgb palette_color(size_t index) {
  // Picked by hand: strong hues first, then lighter and muddier ones.
  static const Rgb kPalette[] = {
      {31, 100, 200}, {235, 120, 20},  {40, 155, 60},  {205, 40, 50},  {135, 85, 190},
      {125, 80, 50},  {225, 95, 175},  {95, 95, 95},   {165, 165, 25}, {20, 170, 195},
  };
  return kPalette[index % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

std::string format_number(double value, int significant) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0.0) return "0";
  const int sig = std::clamp(significant, 1, 15);
  const double a = std::abs(value);
  if (a >= 1e4 && a < 1e15) {
    static const struct {
      double unit;
      const char* suffix;
    } kUnits[] = {{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}};
    for (size_t i = 0; i < 4; ++i) {
      if (a < kUnits[i].unit) continue;
      double m = value / kUnits[i].unit;
      std::string text = fixed(m, decimals_for(std::abs(m), sig));
      // Rounding can carry into the next unit (999.96k -> 1000k): move up one.
      if (std::abs(std::stod(text)) >= 1000.0 && i > 0) {
        m = value / kUnits[i - 1].unit;
        return strip_zeros(fixed(m, decimals_for(std::abs(m), sig))) + kUnits[i - 1].suffix;
      }
      return strip_zeros(text) + kUnits[i].suffix;
    }
  }
  if (a < 1e-3 || a >= 1e15) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*e", sig - 1, value);
    return strip_zeros(buf);
  }
  std::string text = strip_zeros(fixed(value, decimals_for(a, sig)));
  return text == "-0" ? "0" : text;
}

Ticks linear_ticks(double lo, double hi, int target, bool expand) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0.0, hi = 1.0;
  if (lo > hi) std::swap(lo, hi);
  // Keeps hi - lo finite; data beyond these ends is simply clipped.
  const double limit = std::numeric_limits<double>::max() / 8;
  lo = std::clamp(lo, -limit, limit);
  hi = std::clamp(hi, -limit, limit);
  const double magnitude = std::max(std::abs(lo), std::abs(hi));
  if (hi - lo <= magnitude * 1e-12 || hi - lo < std::numeric_limits<double>::min()) {
    // A constant: open a window around it instead of dividing by a zero range.
    const double d = magnitude > 0 ? magnitude * 0.1 : 1.0;
    lo -= d;
    hi += d;
  }
  Ticks t;
  t.step = nice_step((hi - lo) / std::max(1, target));
  if (expand) {
    lo = std::floor(lo / t.step + 1e-9) * t.step;
    hi = std::ceil(hi / t.step - 1e-9) * t.step;
  }
  t.lo = lo;
  t.hi = hi;
  const double first = std::ceil(lo / t.step - 1e-9), last = std::floor(hi / t.step + 1e-9);
  const int significant =
      std::clamp(static_cast<int>(std::floor(std::log10(std::max(std::abs(lo), std::abs(hi))))) -
                     static_cast<int>(std::floor(std::log10(t.step) + 1e-9)) + 1,
                 1, 15);
  for (double k = first; k <= last && t.major.size() < kMaxTicks; k += 1.0) {
    double v = k * t.step;
    if (std::abs(v) < t.step * 1e-9) v = 0.0;
    t.major.push_back(v);
    t.labels.push_back(format_number(v, significant));
  }
  return t;
}

Ticks log_ticks(double lo_value, double hi_value, int target) {
  if (!(lo_value > 0) || !std::isfinite(lo_value)) lo_value = hi_value > 0 && std::isfinite(hi_value) ? hi_value : 1.0;
  if (!(hi_value > 0) || !std::isfinite(hi_value)) hi_value = lo_value;
  if (lo_value > hi_value) std::swap(lo_value, hi_value);
  double lo = std::log10(lo_value), hi = std::log10(hi_value);
  Ticks t;
  t.step = 1.0;
  auto add_major = [&t](double log_v) {
    t.major.push_back(log_v);
    t.labels.push_back(format_number(std::pow(10.0, log_v), 3));
  };
  if (hi - lo > 2.0) {
    // Many decades: whole decades, every stride-th one labelled.
    const double stride = std::max(1.0, std::ceil((std::ceil(hi) - std::floor(lo)) / std::max(1, target)));
    t.lo = std::floor(std::floor(lo) / stride) * stride;
    t.hi = std::ceil(std::ceil(hi) / stride) * stride;
    t.step = stride;
    for (double d = t.lo; d <= t.hi + 1e-9 && t.major.size() < kMaxTicks; d += 1.0) {
      if (std::fmod(d - t.lo, stride) < 0.5) {
        add_major(d);
      } else if (t.hi - t.lo <= 40) {  // beyond that the marks would merge into a grey wash
        t.minor.push_back(d);
      }
      if (stride == 1.0 && d < t.hi - 0.5) {
        for (int m = 2; m <= 9; ++m) t.minor.push_back(d + std::log10(m));
      }
    }
    return t;
  }
  // Up to two decades: a padded data range with 1-2-5 (or 1..9) ticks inside it.
  if (hi - lo < 1e-12) {
    lo -= 0.3;
    hi += 0.3;
  } else {
    const double pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  t.lo = lo;
  t.hi = hi;
  const int sets[2][9] = {{1, 2, 5, 0, 0, 0, 0, 0, 0}, {1, 2, 3, 4, 5, 6, 7, 8, 9}};
  for (int s = 0; s < 2; ++s) {
    std::vector<double> major, minor;
    for (int d = static_cast<int>(std::floor(lo)) - 1; d <= static_cast<int>(std::ceil(hi)); ++d) {
      for (int m = 1; m <= 9; ++m) {
        const double v = d + std::log10(m);
        if (v < lo - 1e-9 || v > hi + 1e-9) continue;
        const bool in_set = std::find(std::begin(sets[s]), std::end(sets[s]), m) != std::end(sets[s]);
        (in_set ? major : minor).push_back(v);
      }
    }
    if (major.size() >= 3) {
      for (double v : major) add_major(v);
      t.minor = minor;
      return t;
    }
  }
  // Less than a factor of ~1.5 in range: linear ticks read better.
  const Ticks lin = linear_ticks(std::pow(10.0, lo), std::pow(10.0, hi), target, false);
  for (size_t i = 0; i < lin.major.size(); ++i) {
    if (lin.major[i] <= 0) continue;
    t.major.push_back(std::log10(lin.major[i]));
    t.labels.push_back(lin.labels[i]);
  }
  return t;
}

// ---- LinePlot -------------------------------------------------------------------------

void LinePlot::add_series(const std::string& name, std::vector<double> x, std::vector<double> y,
                          std::optional<Rgb> color) {
  if (x.size() != y.size()) {
    throw Error("line plot series '" + name + "': " + std::to_string(x.size()) + " x values but " +
                std::to_string(y.size()) + " y values");
  }
  series_.push_back(Series{name, std::move(x), std::move(y), color.value_or(palette_color(series_.size()))});
}

void LinePlot::add_series(const std::string& name, std::vector<double> y) {
  std::vector<double> x(y.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i);
  add_series(name, std::move(x), std::move(y));
}

Rgb LinePlot::series_color(size_t index) const { return series_.at(index).color; }

Canvas LinePlot::render(PlotLayout* layout) const {
  check_size(width, height);
  Canvas c(width, height);
  Frame f{};
  f.s = auto_text_scale(text_scale, width, height);
  f.pad = 6 * f.s;
  f.tick = 4 * f.s;
  f.th = text_height(f.s);

  // Data extent in axis space; a point counts only when both coordinates are usable.
  auto axis_y = [this](double v) { return log_y ? (v > 0 ? std::log10(v) : std::nan("")) : v; };
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  size_t finite_points = 0;
  for (const auto& s : series_) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double ay = axis_y(s.y[i]);
      if (!std::isfinite(s.x[i]) || !std::isfinite(ay)) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, ay);
      y_hi = std::max(y_hi, ay);
      ++finite_points;
    }
  }
  if (finite_points == 0) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;  // log axis: 1..10
  override_end(x_lo, x_min, false);
  override_end(x_hi, x_max, false);
  override_end(y_lo, y_min, log_y);
  override_end(y_hi, y_max, log_y);

  const int top = title_height(f, title);
  const int bottom = f.tick + f.pad / 2 + f.th + (x_label.empty() ? 0 : f.pad + f.th) + f.pad;
  const int plot_h = height - top - bottom;
  const int y_target = std::clamp(plot_h / (12 * f.th / 2 + 20), 3, 10);
  Ticks yt = log_y ? log_ticks(std::pow(10.0, y_lo), std::pow(10.0, y_hi), y_target)
                   : linear_ticks(y_lo, y_hi, y_target, true);
  apply_limits(yt, y_min, y_max, log_y);
  const int left = f.pad + (y_label.empty() ? 0 : f.th + f.pad) + max_label_width(yt.labels, f.s) + f.pad / 2 + f.tick;

  // x ticks: fewer until the labels stop touching.
  Ticks xt;
  int right = 2 * f.pad;
  for (int target = std::clamp((width - left) / 90, 3, 10); target >= 2; --target) {
    xt = linear_ticks(x_lo, x_hi, target, true);
    apply_limits(xt, x_min, x_max, false);
    right = std::max(2 * f.pad, (xt.labels.empty() ? 0 : text_width(xt.labels.back(), f.s) / 2) + f.pad);
    const double px_per_tick = (width - left - right) * (xt.major.size() > 1 ? xt.step / (xt.hi - xt.lo) : 1.0);
    if (max_label_width(xt.labels, f.s) + 3 * f.pad <= px_per_tick) break;
  }
  f.plot = Rect{left, top, std::max(10, width - left - right), std::max(10, plot_h)};
  // Axis ends sit a little inside the frame, so points on them (x = 0, the top value)
  // are not cut in half by the clip.
  const double marker_r = line_width + 1.0;
  const double inset = std::ceil(marker_r) + 1.0;
  const Scale xs{xt.lo, xt.hi, f.plot.x + inset, f.plot.right() - 1 - inset};
  const Scale ys{yt.lo, yt.hi, f.plot.bottom() - 1 - inset, f.plot.y + inset};

  draw_grid_and_frame(c, f, yt, ys, &xt, &xs);
  draw_titles(c, f, title, x_label, y_label, f.plot.bottom() + 1 + f.tick + f.pad / 2 + f.th + f.pad);

  // Remember the empty plot area, so the legend can go where the curves drew least.
  const std::vector<uint8_t> before = c.pixels();
  c.set_clip(f.plot);
  for (const auto& s : series_) {
    size_t finite = 0;
    for (size_t i = 0; i < s.x.size(); ++i) finite += std::isfinite(s.x[i]) && std::isfinite(axis_y(s.y[i]));
    const bool dots = markers == Markers::kAlways || (markers == Markers::kAuto && finite <= 30);
    bool have_prev = false;
    double px = 0, py = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double ay = axis_y(s.y[i]);
      if (!std::isfinite(s.x[i]) || !std::isfinite(ay)) {
        have_prev = false;  // a gap, not a line across the missing point
        continue;
      }
      const double cx = xs(s.x[i]), cy = ys(ay);
      if (have_prev) c.draw_line(px, py, cx, cy, s.color, line_width);
      const bool next_ok = i + 1 < s.x.size() && std::isfinite(s.x[i + 1]) && std::isfinite(axis_y(s.y[i + 1]));
      // A point with no finite neighbour would otherwise be invisible.
      if (dots || (!have_prev && !next_ok)) c.fill_circle(cx, cy, marker_r, s.color);
      have_prev = true;
      px = cx;
      py = cy;
    }
  }
  c.reset_clip();
  if (finite_points == 0) {
    c.draw_text(f.plot.x + f.plot.w / 2, f.plot.y + f.plot.h / 2, "no data", colors::kGrey, f.s, HAlign::kCenter,
                VAlign::kMiddle);
  }

  Rect legend{};
  if (show_legend && !series_.empty()) {
    std::vector<LegendEntry> entries;
    for (const auto& s : series_) {
      size_t finite = 0;
      for (size_t i = 0; i < s.x.size(); ++i) finite += std::isfinite(s.x[i]) && std::isfinite(axis_y(s.y[i]));
      entries.push_back({finite == 0 ? s.name + " (no data)" : s.name, s.color, false});
    }
    legend = legend_size(entries, f);
    const int m = 2 * f.pad;  // gap between legend and frame
    const Rect& p = f.plot;
    const Rect candidates[4] = {
        {p.right() - m - legend.w, p.y + m, legend.w, legend.h},
        {p.x + m, p.y + m, legend.w, legend.h},
        {p.right() - m - legend.w, p.bottom() - m - legend.h, legend.w, legend.h},
        {p.x + m, p.bottom() - m - legend.h, legend.w, legend.h},
    };
    long best_score = -1;
    for (const Rect& r : candidates) {
      long score = 0;
      for (int y = std::max(r.y, 0); y < std::min(r.bottom(), height); ++y) {
        for (int x = std::max(r.x, 0); x < std::min(r.right(), width); ++x) {
          const size_t i = (static_cast<size_t>(y) * width + x) * 3;
          score += before[i] != c.pixels()[i] || before[i + 1] != c.pixels()[i + 1] ||
                   before[i + 2] != c.pixels()[i + 2];
        }
      }
      if (best_score < 0 || score < best_score) {
        best_score = score;
        legend.x = r.x;
        legend.y = r.y;
      }
    }
    draw_legend(c, legend, entries, f, line_width);
  }
  if (layout != nullptr) *layout = PlotLayout{f.plot, legend};
  return c;
}

// ---- BarChart -------------------------------------------------------------------------

void BarChart::add_series(const std::string& name, std::vector<double> mean, std::vector<double> std,
                          std::optional<Rgb> color) {
  if (!std.empty() && std.size() != mean.size()) {
    throw Error("bar chart series '" + name + "': " + std::to_string(mean.size()) + " means but " +
                std::to_string(std.size()) + " standard deviations");
  }
  if (!groups.empty() && mean.size() != groups.size()) {
    throw Error("bar chart series '" + name + "': " + std::to_string(mean.size()) + " values for " +
                std::to_string(groups.size()) + " groups");
  }
  series_.push_back(Series{name, std::move(mean), std::move(std), color.value_or(palette_color(series_.size()))});
}

Rgb BarChart::series_color(size_t index) const { return series_.at(index).color; }

Canvas BarChart::render(PlotLayout* layout) const {
  check_size(width, height);
  for (const auto& s : series_) {
    if (s.mean.size() != groups.size()) {
      throw Error("bar chart series '" + s.name + "': " + std::to_string(s.mean.size()) + " values for " +
                  std::to_string(groups.size()) + " groups");
    }
  }
  Canvas c(width, height);
  Frame f{};
  f.s = auto_text_scale(text_scale, width, height);
  f.pad = 6 * f.s;
  f.tick = 4 * f.s;
  f.th = text_height(f.s);

  auto stddev = [](const Series& s, size_t g) {
    return g < s.std.size() && std::isfinite(s.std[g]) ? std::abs(s.std[g]) : 0.0;
  };
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& s : series_) {
    for (size_t g = 0; g < s.mean.size(); ++g) {
      if (!std::isfinite(s.mean[g])) continue;
      const double down = s.mean[g] - stddev(s, g), up = s.mean[g] + stddev(s, g);
      lo = std::min(lo, std::isfinite(down) ? down : s.mean[g]);
      hi = std::max(hi, std::isfinite(up) ? up : s.mean[g]);
    }
  }
  const bool any = lo <= hi;
  if (!any) lo = 0, hi = 1;
  if (y_from_zero) lo = std::min(lo, 0.0), hi = std::max(hi, 0.0);
  override_end(lo, y_min, false);
  override_end(hi, y_max, false);
  if (value_labels) hi += (hi - lo) * 0.08;  // head-room for the numbers above the bars

  // Legend: one row of entries under the title, wrapped, so it never covers a bar.
  std::vector<LegendEntry> entries;
  if (show_legend) {
    for (const auto& s : series_) entries.push_back({s.name, s.color, true});
  }
  const int swatch = 16 * f.s;
  std::vector<int> entry_w;
  for (const auto& e : entries) entry_w.push_back(swatch / 2 + 1 + f.pad / 2 + text_width(e.name, f.s) + 2 * f.pad);
  std::vector<std::vector<size_t>> legend_rows;
  for (size_t i = 0, used = 0; i < entries.size(); ++i) {
    if (legend_rows.empty() || used + entry_w[i] > static_cast<size_t>(width - 2 * f.pad)) {
      legend_rows.emplace_back();
      used = 0;
    }
    legend_rows.back().push_back(i);
    used += entry_w[i];
  }
  const int legend_row_h = f.th + 4 * f.s;
  const int legend_top = title_height(f, title);
  const int top = legend_top + static_cast<int>(legend_rows.size()) * legend_row_h + f.pad;

  const int bottom = f.pad / 2 + f.th + (x_label.empty() ? 0 : f.pad + f.th) + f.pad + f.tick;
  const int plot_h = height - top - bottom;
  Ticks yt = linear_ticks(lo, hi, std::clamp(plot_h / (12 * f.th / 2 + 20), 3, 10), true);
  apply_limits(yt, y_min, y_max, false);
  const int left = f.pad + (y_label.empty() ? 0 : f.th + f.pad) + max_label_width(yt.labels, f.s) + f.pad / 2 + f.tick;
  f.plot = Rect{left, top, std::max(10, width - left - 2 * f.pad), std::max(10, plot_h)};
  const Scale ys{yt.lo, yt.hi, static_cast<double>(f.plot.bottom() - 1), static_cast<double>(f.plot.y)};

  draw_grid_and_frame(c, f, yt, ys, nullptr, nullptr);
  draw_titles(c, f, title, x_label, y_label, f.plot.bottom() + 1 + f.tick + f.pad / 2 + f.th + f.pad);
  const Rect& p = f.plot;
  const double base = std::clamp(0.0, yt.lo, yt.hi);
  if (yt.lo < 0 && yt.hi > 0) c.draw_line(p.x, std::round(ys(0)), p.right() - 1, std::round(ys(0)), kFrame, 1, false);

  const size_t n_groups = std::max<size_t>(1, groups.size());
  const double slot = static_cast<double>(p.w) / n_groups;
  const double bar_w = series_.empty() ? 0.0 : slot * 0.8 / series_.size();
  const int gap = bar_w >= 6 ? 1 : 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    // Group label, shortened with ".." until it fits its slot.
    std::string label = groups[g];
    while (!label.empty() && text_width(label, f.s) > slot - 2 * f.s) {
      label.pop_back();
      if (text_width(label + "..", f.s) <= slot - 2 * f.s) {
        label += "..";
        break;
      }
    }
    c.draw_text(static_cast<int>(std::round(p.x + (g + 0.5) * slot)), p.bottom() + 1 + f.tick + f.pad / 2, label, kText,
                f.s, HAlign::kCenter);
  }
  c.set_clip(p);
  for (size_t si = 0; si < series_.size(); ++si) {
    const Series& s = series_[si];
    for (size_t g = 0; g < s.mean.size(); ++g) {
      if (!std::isfinite(s.mean[g])) continue;
      const double x0 = p.x + g * slot + slot * 0.1 + si * bar_w;
      const int xa = static_cast<int>(std::round(x0)) + gap, xb = static_cast<int>(std::round(x0 + bar_w)) - gap;
      const double yv = ys(std::clamp(s.mean[g], yt.lo, yt.hi)), yb = ys(base);
      const int ya = static_cast<int>(std::round(std::min(yv, yb))), yz = static_cast<int>(std::round(std::max(yv, yb)));
      c.fill_rect(Rect{xa, ya, std::max(1, xb - xa), std::max(1, yz - ya + 1)}, s.color);
      const double cx = (xa + xb - 1) / 2.0, sd = stddev(s, g);
      double label_y = ys(s.mean[g]);
      if (sd > 0) {
        const double y_top = ys(s.mean[g] + sd), y_bot = ys(s.mean[g] - sd);
        const double cap = std::min(bar_w * 0.4, 8.0 * f.s) / 2;
        const double t = f.s > 1 ? 2.0 : 1.0;
        c.draw_line(cx, y_top, cx, y_bot, kErrorBar, t);
        c.draw_line(cx - cap, y_top, cx + cap, y_top, kErrorBar, t);
        c.draw_line(cx - cap, y_bot, cx + cap, y_bot, kErrorBar, t);
        label_y = s.mean[g] >= 0 ? y_top : y_bot;
      }
      if (value_labels) {
        const std::string text = format_number(s.mean[g], 3);
        if (text_width(text, f.s) <= bar_w * 1.25) {
          if (s.mean[g] >= 0) {
            c.draw_text(static_cast<int>(std::round(cx)), static_cast<int>(label_y) - 2 * f.s, text, kText, f.s,
                        HAlign::kCenter, VAlign::kBottom);
          } else {
            c.draw_text(static_cast<int>(std::round(cx)), static_cast<int>(label_y) + 2 * f.s, text, kText, f.s,
                        HAlign::kCenter, VAlign::kTop);
          }
        }
      }
    }
  }
  c.reset_clip();
  if (!any) {
    c.draw_text(p.x + p.w / 2, p.y + p.h / 2, "no data", colors::kGrey, f.s, HAlign::kCenter, VAlign::kMiddle);
  }

  Rect legend{};
  if (!legend_rows.empty()) {
    int max_row_w = 0;
    for (const auto& row : legend_rows) {
      int w = 0;
      for (size_t i : row) w += entry_w[i];
      max_row_w = std::max(max_row_w, w);
    }
    legend = Rect{(width - max_row_w) / 2, legend_top, max_row_w,
                  static_cast<int>(legend_rows.size()) * legend_row_h};
    for (size_t r = 0; r < legend_rows.size(); ++r) {
      int w = 0;
      for (size_t i : legend_rows[r]) w += entry_w[i];
      int x = (width - w) / 2 + f.pad;
      const int cy = legend_top + static_cast<int>(r) * legend_row_h + legend_row_h / 2;
      for (size_t i : legend_rows[r]) {
        c.fill_rect(Rect{x, cy - swatch / 4 - 1, swatch / 2 + 1, swatch / 2 + 1}, entries[i].color);
        c.draw_text(x + swatch / 2 + 1 + f.pad / 2, cy, entries[i].name, kText, f.s, HAlign::kLeft, VAlign::kMiddle);
        x += entry_w[i];
      }
    }
  }
  if (layout != nullptr) *layout = PlotLayout{f.plot, legend};
  return c;
}

}  // namespace ssdd::io
