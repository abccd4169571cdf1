// Axis ticks and compact number text for charts (svg_chart.h): 1-2-5 steps on linear
// axes, decades on log axes. No LibTorch here.
#pragma once
#include <string>
#include <vector>

namespace ssdd::io {

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

}  // namespace ssdd::io
