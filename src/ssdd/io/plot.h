// Charts for reports: line plots (loss curves, accuracy over time) and grouped bar
// charts with error bars (results tables), rendered with the built-in font and saved
// as PNG. No LibTorch here.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "ssdd/io/canvas.h"

namespace ssdd::io {

// Where render() put things, for callers (and tests) that look at the pixels.
struct PlotLayout {
  Rect plot_area;  // inside the axes frame
  Rect legend;     // w == 0 when no legend was drawn
};

// The i-th colour of the built-in palette (cycles), chosen to stay distinct side by side.
Rgb palette_color(size_t index);

// Compact number text: "0", "0.001", "1.5e-05", "2000", "30k", "1.25M".
// significant bounds the digits shown (trailing zeros are dropped).
std::string format_number(double value, int significant = 3);

// Tick positions on a linear axis: multiples of a 1-2-5 step, about `target` of them,
// covering [lo, hi]. When expand is true lo and hi are widened to the outer ticks.
struct Ticks {
  double lo = 0, hi = 1, step = 1;
  std::vector<double> major;
  std::vector<std::string> labels;
  std::vector<double> minor;  // only on log axes: unlabelled marks
};
Ticks linear_ticks(double lo, double hi, int target = 6, bool expand = true);
// Same in log10 space: lo, hi, major and minor hold log10 of the values, labels the values.
Ticks log_ticks(double lo_value, double hi_value, int target = 6);

class LinePlot {
 public:
  enum class Markers { kAuto, kAlways, kNever };  // kAuto: dots when a series has few points

  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_y = false;  // non-positive values are skipped on a log axis
  int width = 800;
  int height = 500;
  int text_scale = 0;  // 0: chosen from the size
  double line_width = 2.0;
  Markers markers = Markers::kAuto;
  bool show_legend = true;
  // Fixed axis ends; unset ends follow the data.
  std::optional<double> x_min, x_max, y_min, y_max;

  // Non-finite points are skipped and break the line. Throws ssdd::Error when x and
  // y differ in length. color: the palette in order when unset.
  void add_series(const std::string& name, std::vector<double> x, std::vector<double> y,
                  std::optional<Rgb> color = std::nullopt);
  // x = 0, 1, 2, ... (no colour argument, so that add_series(name, {}, {}) stays unambiguous)
  void add_series(const std::string& name, std::vector<double> y);
  size_t series_count() const { return series_.size(); }
  Rgb series_color(size_t index) const;

  Canvas render(PlotLayout* layout = nullptr) const;
  std::vector<uint8_t> encode_png() const { return render().encode_png(); }
  void save(const std::string& path) const { render().write_png(path); }  // throws IoError

 private:
  struct Series {
    std::string name;
    std::vector<double> x, y;
    Rgb color;
  };
  std::vector<Series> series_;
};

class BarChart {
 public:
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<std::string> groups;  // categories along x, e.g. target datasets
  bool y_from_zero = true;          // else the axis fits mean +- std
  bool value_labels = false;        // print each mean above its bar
  int width = 800;
  int height = 500;
  int text_scale = 0;  // 0: chosen from the size
  bool show_legend = true;
  std::optional<double> y_min, y_max;

  // One bar per group; mean (and std when not empty) must have groups.size() entries,
  // else ssdd::Error. NaN means draw no bar, NaN or zero std no error bar.
  void add_series(const std::string& name, std::vector<double> mean, std::vector<double> std = {},
                  std::optional<Rgb> color = std::nullopt);
  size_t series_count() const { return series_.size(); }
  Rgb series_color(size_t index) const;

  Canvas render(PlotLayout* layout = nullptr) const;
  std::vector<uint8_t> encode_png() const { return render().encode_png(); }
  void save(const std::string& path) const { render().write_png(path); }  // throws IoError

 private:
  struct Series {
    std::string name;
    std::vector<double> mean, std;
    Rgb color;
  };
  std::vector<Series> series_;
};

}  // namespace ssdd::io
