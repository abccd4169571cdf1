// SVG charts (io/svg_chart.h) and the axis ticks they share (io/axis_ticks.h): documents that
// parse, escaped text, and data that lands where the axes say.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/axis_ticks.h"
#include "ssdd/io/svg_chart.h"
#include "test_util.h"

using ssdd::io::svg::BarChart;
using ssdd::io::svg::LineChart;

namespace {

const double kNan = std::numeric_limits<double>::quiet_NaN();

struct Element {
  std::string name;
  std::map<std::string, std::string> attrs;
  std::string text;                    // character data directly inside, as written (escaped)
  std::vector<std::string> ancestors;  // the class (else the name) of each enclosing element
  double num(const std::string& key) const { return std::stod(attrs.at(key)); }
  std::string cls() const { return attrs.count("class") ? attrs.at("class") : ""; }
  bool within(const std::string& cls) const {
    return std::find(ancestors.begin(), ancestors.end(), cls) != ancestors.end();
  }
};

// Text and attribute values may hold '&' only as one of XML's five entities, and no '<'.
void expect_escaped(const std::string& text) {
  EXPECT_EQ(text.find('<'), std::string::npos) << text;
  static const std::regex kEntity("^&(amp|lt|gt|quot|apos);");
  for (size_t a = text.find('&'); a != std::string::npos; a = text.find('&', a + 1))
    EXPECT_TRUE(std::regex_search(text.substr(a), kEntity)) << "a bare & in: " << text;
}

// Parses the subset of XML the charts write, failing the test on anything malformed: one
// root element, balanced tags, quoted attributes only, escaped text.
std::vector<Element> parse(const std::string& svg) {
  static const std::regex kAttribute(R"re(\s+([A-Za-z][\w:-]*)="([^"]*)")re");
  std::vector<Element> all;
  std::vector<size_t> open;
  size_t roots = 0, i = 0;
  while (i < svg.size()) {
    const size_t lt = std::min(svg.find('<', i), svg.size());
    const std::string chars = svg.substr(i, lt - i);
    if (open.empty()) {
      EXPECT_EQ(chars.find_first_not_of(" \n"), std::string::npos) << "text outside the root: " << chars;
    } else {
      expect_escaped(chars);
      all[open.back()].text += chars;
    }
    if (lt == svg.size()) break;
    const size_t gt = svg.find('>', lt);
    if (gt == std::string::npos) {
      ADD_FAILURE() << "unterminated tag at " << lt;
      return all;
    }
    std::string tag = svg.substr(lt + 1, gt - lt - 1);
    i = gt + 1;
    if (!tag.empty() && tag[0] == '/') {
      EXPECT_TRUE(!open.empty() && all[open.back()].name == tag.substr(1)) << "unbalanced </" << tag << ">";
      if (!open.empty()) open.pop_back();
      continue;
    }
    const bool self_closing = !tag.empty() && tag.back() == '/';
    if (self_closing) tag.pop_back();
    Element e;
    e.name = tag.substr(0, tag.find_first_of(" \n"));
    EXPECT_TRUE(std::regex_match(e.name, std::regex("[a-z]+"))) << "tag <" << tag << ">";
    std::string rest = tag.substr(e.name.size());
    for (std::smatch m; std::regex_search(rest, m, kAttribute); rest = m.suffix()) {
      EXPECT_EQ(m.prefix().str(), "") << "junk in <" << tag << ">";
      expect_escaped(m[2]);
      e.attrs[m[1]] = m[2];
    }
    EXPECT_EQ(rest.find_first_not_of(' '), std::string::npos) << "junk in <" << tag << ">";
    for (size_t k : open) e.ancestors.push_back(all[k].cls().empty() ? all[k].name : all[k].cls());
    roots += open.empty();
    all.push_back(e);
    if (!self_closing) open.push_back(all.size() - 1);
  }
  EXPECT_TRUE(open.empty()) << open.size() << " elements left open";
  EXPECT_EQ(roots, 1u);
  EXPECT_FALSE(all.empty());
  if (!all.empty()) {
    EXPECT_EQ(all[0].name, "svg");
    EXPECT_EQ(all[0].attrs["xmlns"], "http://www.w3.org/2000/svg");
  }
  return all;
}

std::vector<Element> of_class(const std::vector<Element>& all, const std::string& cls) {
  std::vector<Element> out;
  for (const auto& e : all)
    if (e.cls() == cls) out.push_back(e);
  return out;
}

struct Pt {
  double x, y;
};

std::vector<Pt> points(const Element& polyline) {
  std::vector<Pt> out;
  std::istringstream in(polyline.attrs.at("points"));
  std::string pair;
  while (in >> pair) {
    const size_t comma = pair.find(',');
    out.push_back({std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1))});
  }
  return out;
}

// The plot area: x, y, right, bottom.
struct Box {
  double x, y, right, bottom;
};
Box plot_area(const std::vector<Element>& all) {
  const auto areas = of_class(all, "plot-area");
  EXPECT_EQ(areas.size(), 1u);
  if (areas.empty()) return {0, 0, 0, 0};
  const Element& a = areas[0];
  return {a.num("x"), a.num("y"), a.num("x") + a.num("width"), a.num("y") + a.num("height")};
}

constexpr double kNear = 0.11;  // coordinates carry one decimal

}  // namespace

// ---- ticks and numbers ----------------------------------------------------------------

TEST(AxisTicks, CompactNumbers) {
  using ssdd::io::format_number;
  EXPECT_EQ(format_number(0.0), "0");
  EXPECT_EQ(format_number(0.001), "0.001");
  EXPECT_EQ(format_number(1.5e-5), "1.5e-05");
  EXPECT_EQ(format_number(2000), "2000");
  EXPECT_EQ(format_number(30000), "30k");
  EXPECT_EQ(format_number(12500), "12.5k");
  EXPECT_EQ(format_number(1250000), "1.25M");
  EXPECT_EQ(format_number(-0.25), "-0.25");
  EXPECT_EQ(format_number(999999), "1M");
  EXPECT_EQ(format_number(0.123456, 4), "0.1235");
  EXPECT_EQ(format_number(-1e-20), "-1e-20");
  EXPECT_EQ(format_number(std::nan("")), "nan");
  EXPECT_EQ(format_number(-INFINITY), "-inf");
}

TEST(AxisTicks, NiceLinearAndLogTicks) {
  auto t = ssdd::io::linear_ticks(0.03, 0.97, 5);
  EXPECT_DOUBLE_EQ(t.lo, 0.0);
  EXPECT_DOUBLE_EQ(t.hi, 1.0);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  EXPECT_EQ(t.labels.front(), "0");
  EXPECT_EQ(t.labels[1], "0.2");
  EXPECT_EQ(t.labels.back(), "1");

  auto c = ssdd::io::linear_ticks(3.0, 3.0, 5);  // constant: a window, not a division by zero
  EXPECT_LT(c.lo, 3.0);
  EXPECT_GT(c.hi, 3.0);
  EXPECT_GE(c.major.size(), 2u);
  auto z = ssdd::io::linear_ticks(0.0, 0.0, 5);
  EXPECT_LT(z.lo, z.hi);

  auto big = ssdd::io::linear_ticks(0, 48000, 5);
  EXPECT_EQ(big.labels.back(), "50k");
  auto tiny = ssdd::io::linear_ticks(1e-5, 3e-5, 4);
  EXPECT_EQ(tiny.labels.front(), "1e-05");

  auto lg = ssdd::io::log_ticks(0.002, 30.0);
  EXPECT_DOUBLE_EQ(lg.lo, -3.0);
  EXPECT_DOUBLE_EQ(lg.hi, 2.0);
  EXPECT_EQ(lg.labels.front(), "0.001");
  EXPECT_EQ(lg.labels.back(), "100");
  EXPECT_FALSE(lg.minor.empty());
  auto narrow = ssdd::io::log_ticks(0.3, 0.9);
  EXPECT_GE(narrow.major.size(), 3u);
  auto flat = ssdd::io::log_ticks(0.5, 0.5);
  EXPECT_LT(flat.lo, flat.hi);
  EXPECT_GE(flat.major.size(), 2u);
}

// ---- line charts ----------------------------------------------------------------------

TEST(SvgLineChart, WellFormedWithEscapedText) {
  LineChart chart;
  chart.title = "loss <of> \"a\" & 'b'";
  chart.x_label = "epoch < 5";
  chart.y_label = "loss & more";
  chart.add_series("<script>alert(1)</script>", {1, 2, 3}, {3, 2, 1});
  chart.add_series("b\x01" "c", {1, 2, 3}, {1, 2, 3});  // a control character: not allowed in XML
  const std::string svg = chart.render();
  const auto all = parse(svg);
  EXPECT_EQ(all[0].attrs.at("viewBox"), "0 0 800 500");
  EXPECT_EQ(svg.find("<script"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(svg.find(">loss &lt;of&gt; &quot;a&quot; &amp; &apos;b&apos;</text>"), std::string::npos);
  EXPECT_EQ(of_class(all, "x-label").at(0).text, "epoch &lt; 5");
  EXPECT_EQ(of_class(all, "y-label").at(0).text, "loss &amp; more");
  EXPECT_NE(svg.find(">bc</text>"), std::string::npos);
  EXPECT_EQ(ssdd::io::svg::escape("a\tb<&>\"'"), "a\tb&lt;&amp;&gt;&quot;&apos;");
}

TEST(SvgLineChart, PointsLandWhereTheAxesSay) {
  LineChart chart;
  chart.add_series("straight", {0, 50, 100}, {0, 0.5, 1});  // nice ends: the ticks end there too
  const auto all = parse(chart.render());
  const Box p = plot_area(all);
  const auto lines = of_class(all, "series");
  ASSERT_EQ(lines.size(), 1u);
  const auto pts = points(lines[0]);
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_NEAR(pts[0].x, p.x, kNear);  // (0, 0): bottom left
  EXPECT_NEAR(pts[0].y, p.bottom, kNear);
  EXPECT_NEAR(pts[1].x, (p.x + p.right) / 2, kNear);
  EXPECT_NEAR(pts[1].y, (p.y + p.bottom) / 2, kNear);
  EXPECT_NEAR(pts[2].x, p.right, kNear);  // (100, 1): top right
  EXPECT_NEAR(pts[2].y, p.y, kNear);
  // The tick labels sit at their values: "1" at the top, "100" at the right.
  bool top_one = false, right_hundred = false;
  for (const auto& t : all) {
    if (t.name != "text" || !t.within("tick-labels")) continue;
    top_one |= t.text == "1" && std::abs(t.num("y") - p.y) < kNear;
    right_hundred |= t.text == "100" && std::abs(t.num("x") - p.right) < kNear;
  }
  EXPECT_TRUE(top_one);
  EXPECT_TRUE(right_hundred);
  EXPECT_EQ(of_class(all, "marker").size(), 3u);  // few points: each one a dot
  EXPECT_EQ(of_class(all, "legend").size(), 1u);
}

TEST(SvgLineChart, NonFinitePointsBreakTheLine) {
  LineChart chart;
  chart.add_series("gappy", {1, 2, 3, 4, 5, 6, 7}, {1.0, 2.0, kNan, 3.0, 4.0, INFINITY, 5.0});
  const auto all = parse(chart.render());
  const auto lines = of_class(all, "series");
  ASSERT_EQ(lines.size(), 2u);  // 1-2 and 4-5; the lone 7 is a dot only
  EXPECT_EQ(points(lines[0]).size(), 2u);
  EXPECT_EQ(points(lines[1]).size(), 2u);
  EXPECT_LT(points(lines[0]).back().x, points(lines[1]).front().x);
  EXPECT_EQ(of_class(all, "marker").size(), 5u);

  LineChart many;  // more points than get dots: only a lone point still gets one
  std::vector<double> y(100, 1.0);
  y[50] = kNan;
  y[98] = kNan;
  many.add_series("long", y);
  const auto parsed = parse(many.render());
  EXPECT_EQ(of_class(parsed, "series").size(), 2u);
  EXPECT_EQ(of_class(parsed, "marker").size(), 1u);
}

TEST(SvgLineChart, LogAxisSkipsNonPositiveValues) {
  LineChart chart;
  chart.log_y = true;
  chart.add_series("loss", {1, 2, 3, 4, 5}, {10, 0, -1, 100, 1000});
  const auto all = parse(chart.render());
  const Box p = plot_area(all);
  const auto lines = of_class(all, "series");
  ASSERT_EQ(lines.size(), 1u);  // 10 stands alone; 100-1000 is a line
  const auto pts = points(lines[0]);
  ASSERT_EQ(pts.size(), 2u);
  const auto dots = of_class(all, "marker");
  ASSERT_EQ(dots.size(), 3u);
  const double y10 = dots[0].num("cy"), y100 = pts[0].y, y1000 = pts[1].y;
  EXPECT_NEAR(y100 - y10, y1000 - y100, 2 * kNear);  // equal factors, equal steps
  EXPECT_LT(y1000, y10);
  for (double y : {y10, y100, y1000}) {
    EXPECT_GE(y, p.y - kNear);
    EXPECT_LE(y, p.bottom + kNear);
  }
  for (const auto& t : all)
    if (t.within("tick-labels")) {
      EXPECT_EQ(t.text.find('-'), std::string::npos) << t.text;
    }
}

TEST(SvgLineChart, NothingToDrawStillMakesAChart) {
  LineChart empty;
  EXPECT_NE(empty.render().find(">no data</text>"), std::string::npos);
  LineChart all_bad;
  all_bad.log_y = true;
  all_bad.add_series("negative", {1, 2}, {-1.0, 0.0});
  const std::string svg = all_bad.render();
  parse(svg);
  EXPECT_NE(svg.find(">no data</text>"), std::string::npos);
  EXPECT_NE(svg.find(">negative (no data)</text>"), std::string::npos);
  EXPECT_THROW(all_bad.add_series("bad", {1, 2, 3}, {1, 2}), ssdd::Error);
  all_bad.width = 100;
  EXPECT_THROW(all_bad.render(), ssdd::Error);
}

// ---- bar charts -----------------------------------------------------------------------

TEST(SvgBarChart, OneBarPerFiniteMeanAndOneErrorBarPerSpread) {
  BarChart chart;
  chart.title = "Linear probe accuracy";
  chart.y_label = "accuracy (%)";
  chart.groups = {"CIFAR10", "CIFAR100", "Aircraft", "Cars"};
  chart.value_labels = true;
  chart.add_series("random", {35.1, 12.0, 5.5, 3.2}, {0.8, 0.4, 0.3, 0.2});
  chart.add_series("ours", {52.3, 24.9, 11.1, kNan}, {1.1, 0.6, 0.5, 0.4});  // NaN: no bar, no error bar
  chart.add_series("full data", {60, 30, 15, 12});                          // no std: no error bars
  chart.add_series("spread 0 or NaN", {10, 10, 10, 10}, {0, kNan, 0, 0});
  const auto all = parse(chart.render());
  const Box p = plot_area(all);
  const auto bars = of_class(all, "bar");
  ASSERT_EQ(bars.size(), 15u);
  std::map<std::string, int> per_series;
  for (const auto& b : bars) {
    ++per_series[b.attrs.at("data-series")];
    EXPECT_NEAR(b.num("y") + b.num("height"), p.bottom, kNear);  // from zero, the axis' bottom
    EXPECT_GE(b.num("x"), p.x);
    EXPECT_LE(b.num("x") + b.num("width"), p.right + kNear);
  }
  EXPECT_EQ(per_series, (std::map<std::string, int>{{"0", 4}, {"1", 3}, {"2", 4}, {"3", 4}}));
  EXPECT_EQ(of_class(all, "error-bar").size(), 7u);
  EXPECT_EQ(of_class(all, "value").size(), 15u);
  // Heights are proportional to the means: full data's 60 is twice its 30.
  EXPECT_NEAR(bars[7].num("height"), 2 * bars[8].num("height"), 2 * kNear);
  EXPECT_LT(bars[0].num("x"), bars[4].num("x"));  // random left of ours in CIFAR10
  EXPECT_LT(bars[4].num("x"), bars[1].num("x"));  // CIFAR10 left of CIFAR100
  size_t legend_texts = 0;
  for (const auto& e : all) legend_texts += e.name == "text" && e.within("legend");
  EXPECT_EQ(legend_texts, 4u);
}

TEST(SvgBarChart, NegativeEmptyAndMismatched) {
  BarChart negative;
  negative.groups = {"a", "b"};
  negative.y_from_zero = false;
  negative.add_series("delta", {-1.5, 2.0}, {0.5, 0.5});
  const auto all = parse(negative.render());
  EXPECT_EQ(of_class(all, "bar").size(), 2u);
  EXPECT_EQ(of_class(all, "zero").size(), 1u);  // a line at 0 between the two

  BarChart empty;
  EXPECT_NE(empty.render().find(">no data</text>"), std::string::npos);

  BarChart bad;
  bad.groups = {"a", "b"};
  EXPECT_THROW(bad.add_series("x", {1.0}), ssdd::Error);
  EXPECT_THROW(bad.add_series("x", {1.0, 2.0}, {1.0}), ssdd::Error);
  bad.add_series("x", {1.0, 2.0});
  bad.groups.push_back("c");  // groups changed after the series
  EXPECT_THROW(bad.render(), ssdd::Error);
}

TEST(SvgChart, SaveIsAtomic) {
  TempDir dir;
  LineChart chart;
  chart.add_series("a", {1, 2, 3});
  chart.save(dir.path() + "/loss.svg");
  EXPECT_EQ(ssdd::io::read_file(dir.path() + "/loss.svg"), chart.render());
  EXPECT_THROW(chart.save(dir.path() + "/missing/loss.svg"), ssdd::IoError);
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) entries += !e.path().empty();
  EXPECT_EQ(entries, 1u);  // no temporary file left behind
}
