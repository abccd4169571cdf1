#include "ssdd/io/axis_ticks.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "ssdd/core/format.h"

namespace ssdd::io {
namespace {

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

std::string fixed(double v, int decimals) { return fmt::format("{:.{}f}", v, std::clamp(decimals, 0, 20)); }

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

}  // namespace

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
    return strip_zeros(fmt::format("{:.{}e}", value, sig - 1));
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

}  // namespace ssdd::io
