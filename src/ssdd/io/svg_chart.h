// Charts for reports as SVG documents: line charts (loss curves, probe accuracy over time)
// and grouped bar charts with error bars (results tables). Labels stay <text> elements, so
// the browser draws them in its own fonts at any zoom; report.html inlines the SVG.
// No LibTorch here.
//
// The elements carry classes that tests and style sheets can find: "plot-area" (the axes
// frame, a rect), "series" (one polyline per unbroken run of a line series), "marker",
// "bar", "error-bar", "legend", "title", "x-label", "y-label"; data-series holds the
// series' index.
#pragma once
#include <string>
#include <vector>

namespace ssdd::io::svg {

// Text safe inside an XML element or a quoted attribute: & < > " ' escaped, control
// characters (not allowed in XML) dropped.
std::string escape(const std::string& text);

// The i-th colour of the palette as "#rrggbb" (cycles), chosen to stay distinct side by side.
std::string palette_color(size_t index);

// What every chart has: its labels, its size, and its way out.
class Chart {
 public:
  std::string title;
  std::string x_label;
  std::string y_label;
  int width = 800;  // user units of the viewBox (pixels at 100%); at least 200x150
  int height = 500;

  virtual ~Chart() = default;
  // The whole <svg> document. Throws ssdd::Error when the size is too small.
  virtual std::string render() const = 0;
  // render(), written atomically (io/atomic_file.h); throws IoError.
  void save(const std::string& path) const;
};

class LineChart : public Chart {
 public:
  bool log_y = false;  // non-positive values are skipped on a log axis

  // Points that are not finite (or not positive on a log axis) are skipped and break the
  // line. Throws ssdd::Error when x and y differ in length.
  void add_series(const std::string& name, std::vector<double> x, std::vector<double> y);
  // x = 1, 2, 3, ... (epochs, iterations)
  void add_series(const std::string& name, std::vector<double> y);
  size_t series_count() const { return series_.size(); }
  std::string render() const override;

 private:
  struct Series {
    std::string name;
    std::vector<double> x, y;
  };
  std::vector<Series> series_;
};

class BarChart : public Chart {
 public:
  std::vector<std::string> groups;  // categories along x, e.g. target data sets
  bool y_from_zero = true;          // else the axis fits mean +- std
  bool value_labels = false;        // print each mean above its bar

  // One bar per group: mean (and std when not empty) must have groups.size() entries, else
  // ssdd::Error. A NaN mean draws no bar; a NaN or zero std no error bar.
  void add_series(const std::string& name, std::vector<double> mean, std::vector<double> std = {});
  size_t series_count() const { return series_.size(); }
  std::string render() const override;

 private:
  struct Series {
    std::string name;
    std::vector<double> mean, std;
  };
  std::vector<Series> series_;
};

}  // namespace ssdd::io::svg
