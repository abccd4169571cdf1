// report.md / report.html from a fixture run folder, the claim check, and a headless
// browser that renders the page.
#include <gtest/gtest.h>

#include <filesystem>

#include "ssdd/io/atomic_file.h"
#include "ssdd/io/image_decode.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/png_write.h"
#include "ssdd/io/svg_chart.h"
#include "ssdd/report/report.h"
#include "test_util.h"

using namespace ssdd;
namespace fs = std::filesystem;

namespace {

nlohmann::json summary_row(const std::string& row, const std::string& arch, double mean, double std_, int n = 3) {
  return {{"row", row}, {"arch", arch}, {"target", "fashion-mnist"}, {"kind", row},
          {"n", n},     {"probe_mean", mean}, {"probe_std", std_}};
}

nlohmann::json fixture_results(double ours, double krrst) {
  const std::string a = "convnet:64-64-64:batch";
  return {{"archs", {a}},
          {"source", "fashion-mnist"},
          {"teacher", {{"arch", "resnet18"}, {"feature_dim", 512}, {"id", "abc"}, {"dir", "teacher"}}},
          {"protocol",
           {{"pretrain_epochs", 10}, {"pretrain_lr", 0.1}, {"weight_decay", 5e-4}, {"pretrain_batch", 256},
            {"probe_epochs", 30}, {"probe_max_train", 0}, {"seeds", 1}}},
          {"targets", {"fashion-mnist"}},
          {"rows", {"teacher", "none", "ours", "krrst", "random", "ours-no-param"}},
          {"summary",
           {summary_row("teacher", "teacher:resnet18", 0.90, 0.0), summary_row("none", a, 0.870, 0.002),
            summary_row("ours", a, ours, 0.002), summary_row("krrst", a, krrst, 0.003),
            summary_row("random", a, 0.880, 0.002), summary_row("ours-no-param", a, 0.899, 0.004)}}};
}

// A run folder as `ssdd run` leaves it, written by hand: one grid, one distilled set.
void write_fixture(const std::string& dir) {
  io::make_dirs(dir + "/evaluate/main");
  io::make_dirs(dir + "/distill/ours");
  io::write_json_file(dir + "/evaluate/main/results.json", fixture_results(0.90, 0.89));
  io::write_json_file(dir + "/distill/ours/metrics.json",
                      {{"m", 285}, {"final_loss", 0.1}, {"iterations_per_second", 1.2}, {"seconds", 900.0},
                       {"storage",
                        {{"total_floats", 78324}, {"image_equivalents", 99.9},
                         {"items", {{{"name", "image_bases"}, {"floats", 25088}, {"images", 32.0}}}}}},
                       {"approximation_heldout",
                        {{{"view", "rot90"}, {"r2", 0.81234}, {"r2_unshifted", 0.4}, {"r2_basis", 0.95}, {"r2_distilled", 0.99}}}}});
  // A red and blue checkerboard: easy to find in a screenshot.
  std::vector<uint8_t> pixels(64 * 48 * 3, 0);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 64; ++x) pixels[(y * 64 + x) * 3 + ((x / 8 + y / 8) % 2 ? 0 : 2)] = 220;
  io::write_png(dir + "/distill/ours/images.png", pixels.data(), 64, 48, 3);
  io::svg::LineChart loss;
  loss.title = "outer loss";
  loss.log_y = true;
  loss.add_series("ours", {1.0, 0.5, 0.3, 0.2, 0.15, 0.12, 0.1});
  loss.save(dir + "/distill/ours/loss.svg");
  io::svg::BarChart results;  // the palette's first two colours, in large areas
  results.groups = {"fashion-mnist"};
  results.add_series("teacher", {90.0}, {0.0});
  results.add_series("ours", {90.0}, {0.2});
  results.save(dir + "/evaluate/main/results.svg");
  io::write_json_file(dir + "/run.json",
                      {{"name", "fixture"},
                       {"config", "configs/fixture.toml"},
                       {"updated", "2026-11-26T00:00:00Z"},
                       {"stages",
                        {{{"name", "distill ours"}, {"dir", "distill/ours"}, {"action", "ran"}, {"seconds", 900.0}},
                         {{"name", "evaluate main"}, {"dir", "evaluate/main"}, {"action", "ran"}, {"seconds", 60.0}}}},
                       {"machine", {{"cpu", "test cpu"}, {"threads", 2}}}});
}

}  // namespace

TEST(Report, ClaimCheckSaysWhetherTheOrderingHoldsBeyondTheSpread) {
  const std::vector<std::string> chain = {"ours", "krrst", "random", "none"};
  const std::string holds = report::ordering_check(io::grid_results_from_json(fixture_results(0.90, 0.89)), chain);
  EXPECT_NE(holds.find("ours > krrst > random > none"), std::string::npos) << holds;
  EXPECT_NE(holds.find("holds, every gap beyond"), std::string::npos) << holds;
  const std::string close = report::ordering_check(io::grid_results_from_json(fixture_results(0.8905, 0.890)), chain);
  EXPECT_NE(close.find("not every gap beyond"), std::string::npos) << close;
  const std::string fails = report::ordering_check(io::grid_results_from_json(fixture_results(0.885, 0.89)), chain);
  EXPECT_NE(fails.find("does not hold"), std::string::npos) << fails;
  EXPECT_NE(fails.find("ours − krrst = -0.50"), std::string::npos) << fails;
}

TEST(Report, MarkdownAndSelfContainedHtmlFromARunFolder) {
  TempDir run;
  write_fixture(run.path());
  report::write_report(run.path());
  const std::string md = io::read_file(run.path() + "/report.md");
  EXPECT_NE(md.find("# ssdd report: fixture"), std::string::npos);
  EXPECT_NE(md.find("## Linear probe, convnet"), std::string::npos) << md;   // the grid's table, demoted
  EXPECT_EQ(md.find("\n## Evaluation results"), std::string::npos) << md;   // not its title
  EXPECT_NE(md.find("| ours | 285 | 78324 | 99.90 |"), std::string::npos) << md;
  EXPECT_NE(md.find("(distill/ours/images.png)"), std::string::npos) << md;  // relative links
  EXPECT_NE(md.find("![ours loss](distill/ours/loss.svg)"), std::string::npos) << md;
  EXPECT_NE(md.find("![results of grid main](evaluate/main/results.svg)"), std::string::npos) << md;
  EXPECT_NE(md.find("| ours | rot90 | 0.812 | 0.400 | 0.950 | 0.990 |"), std::string::npos) << md;
  EXPECT_NE(md.find("holds, every gap beyond"), std::string::npos) << md;
  // An ours-* row is an ablation, checked against the full method: 90.0 vs 89.9 +- 0.4.
  EXPECT_NE(md.find("### The ablations"), std::string::npos) << md;
  EXPECT_NE(md.find("**ours > ours-no-param** (convnet:64-64-64:batch, fashion-mnist): holds in the means, not every "
                    "gap beyond"),
            std::string::npos)
      << md;
  const std::string html = io::read_file(run.path() + "/report.html");
  EXPECT_NE(html.find("<table>"), std::string::npos);
  EXPECT_NE(html.find("<td>90.00 ± 0.20</td>"), std::string::npos);
  EXPECT_NE(html.find("src=\"data:image/png;base64,"), std::string::npos);  // self-contained
  EXPECT_EQ(html.find("images.png"), std::string::npos);
  // The charts are inline SVG, their text as text: the results chart, then the loss curve.
  const std::string chart = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ssdd-chart\"";
  const size_t first = html.find(chart);
  ASSERT_NE(first, std::string::npos) << html;
  EXPECT_NE(html.find(chart, first + 1), std::string::npos);
  EXPECT_EQ(html.find(chart, html.find(chart, first + 1) + 1), std::string::npos);
  EXPECT_LT(first, html.find("<h2>Distilled sets</h2>"));
  EXPECT_NE(html.find(">outer loss</text>"), std::string::npos);
  EXPECT_EQ(html.find("ssdd-inline-chart"), std::string::npos);  // every placeholder replaced
  EXPECT_EQ(html.find(".svg"), std::string::npos);                // no link out of the page
}

TEST(Report, OursRunLongerIsAConvergenceCheckNotAnAblation) {
  TempDir run;
  write_fixture(run.path());
  const std::string dir = run.path();
  auto results = fixture_results(0.90, 0.89);
  results["rows"].push_back("ours-3k");
  results["summary"].push_back(summary_row("ours-3k", "convnet:64-64-64:batch", 0.905, 0.001));
  io::write_json_file(dir + "/evaluate/main/results.json", results);
  const nlohmann::json ours = {{"iterations", 1000}, {"lr", 0.001}, {"parameterize", true}};
  auto longer = ours, no_param = ours;
  longer["iterations"] = 3000;
  no_param["parameterize"] = false;
  io::write_json_file(dir + "/distill/ours/config.json", ours);
  for (const auto& [label, config] : {std::pair{"ours-3k", longer}, std::pair{"ours-no-param", no_param}}) {
    io::make_dirs(dir + "/distill/" + label);
    io::write_json_file(dir + "/distill/" + label + "/config.json", config);
  }
  auto record = io::parse_json_file(dir + "/run.json");
  for (const char* label : {"ours-3k", "ours-no-param"})
    record["stages"].push_back({{"name", std::string("distill ") + label}, {"dir", std::string("distill/") + label},
                                {"action", "ran"}, {"seconds", 1.0}});
  io::write_json_file(dir + "/run.json", record);
  report::write_report(dir);
  const std::string md = io::read_file(dir + "/report.md");
  const size_t ablations = md.find("### The ablations"), lengths = md.find("### Distillation length");
  ASSERT_NE(ablations, std::string::npos) << md;
  ASSERT_NE(lengths, std::string::npos) << md;
  EXPECT_NE(md.find("**ours > ours-no-param**"), std::string::npos) << md;
  // The longer run comes first in its claim, and is not listed among the ablations.
  EXPECT_GT(md.find("**ours-3k > ours** (convnet:64-64-64:batch, fashion-mnist): holds"), lengths) << md;
  EXPECT_EQ(md.find("ours > ours-3k"), std::string::npos) << md;
  EXPECT_EQ(md.find("ours-3k > ours-no-param"), std::string::npos) << md;  // not a length of one another
}

TEST(Report, FoldersFromBeforeSvgChartsShowTheirPng) {
  TempDir run;
  write_fixture(run.path());
  fs::remove(run.path() + "/distill/ours/loss.svg");
  fs::remove(run.path() + "/evaluate/main/results.svg");
  const std::vector<uint8_t> grey(8 * 8 * 3, 128);
  io::write_png(run.path() + "/distill/ours/loss.png", grey.data(), 8, 8, 3);
  report::write_report(run.path());
  const std::string md = io::read_file(run.path() + "/report.md");
  EXPECT_NE(md.find("![ours loss](distill/ours/loss.png)"), std::string::npos) << md;
  EXPECT_EQ(md.find("results of grid"), std::string::npos) << md;  // neither results.svg nor .png
  const std::string html = io::read_file(run.path() + "/report.html");
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  const size_t png = html.find("src=\"data:image/png;base64,");
  ASSERT_NE(png, std::string::npos);
  EXPECT_NE(html.find("src=\"data:image/png;base64,", png + 1), std::string::npos);  // loss and images
}

TEST(Report, AnSvgThatCouldRunSomethingIsNotInlined) {
  TempDir run;
  write_fixture(run.path());
  const std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 10 10\">";
  for (const std::string& hostile :
       {svg + "<script>alert(1)</script></svg>\n",
        svg + "<rect width=\"5\" height=\"5\" onclick=\"alert(1)\"/></svg>\n",
        svg + "<a href=\"javascript:alert(1)\"><text>x</text></a></svg>\n", std::string("<p>not svg</p>\n")}) {
    io::write_file_atomic(run.path() + "/distill/ours/loss.svg", hostile);
    report::write_report(run.path());
    const std::string html = io::read_file(run.path() + "/report.html");
    EXPECT_EQ(html.find("alert"), std::string::npos) << hostile;
    EXPECT_EQ(html.find("not svg"), std::string::npos) << hostile;
    EXPECT_NE(html.find("loss.svg is left out: not an SVG chart of ssdd's"), std::string::npos) << hostile;
    EXPECT_NE(html.find("class=\"ssdd-chart\""), std::string::npos) << hostile;  // the results chart still is
  }
}

TEST(Report, HeadlessChromiumRendersTheTableAndTheImages) {
  const std::string browser = fs::exists("/usr/bin/chromium") ? "/usr/bin/chromium" : "";
  if (browser.empty()) GTEST_SKIP() << "chromium is not installed (scripts/setup.sh installs it)";
  TempDir run;
  write_fixture(run.path());
  report::write_report(run.path());
  const std::string shot = run.path() + "/shot.png";
  const std::string command = browser + " --headless --no-sandbox --disable-gpu --hide-scrollbars "
                                        "--user-data-dir=" + run.path() + "/profile --window-size=1000,4000 "
                                        "--screenshot=" + shot + " file://" + run.path() + "/report.html >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const auto img = io::read_image(shot, 3);
  ASSERT_EQ(img.width, 1000);
  // The page is not blank: enough dark pixels (text, table borders), the fixture's red and
  // blue image, and the inline charts in the palette's first two colours (bars and curve).
  int64_t dark = 0, image = 0, first = 0, second = 0;
  auto near = [](int a, int b) { return std::abs(a - b) <= 12; };
  for (size_t i = 0; i + 2 < img.pixels.size(); i += 3) {
    const int r = img.pixels[i], g = img.pixels[i + 1], b = img.pixels[i + 2];
    dark += (r + g + b) < 200;
    image += (r > 200 && g < 20 && b < 20) || (r < 20 && g < 20 && b > 200);
    first += near(r, 0x1f) && near(g, 0x64) && near(b, 0xc8);
    second += near(r, 0xeb) && near(g, 0x78) && near(b, 0x14);
  }
  EXPECT_GT(dark, 2000);
  EXPECT_GE(image, 64 * 48 * 9 / 10);
  EXPECT_GT(first, 5000);   // the teacher's bar and the loss curve
  EXPECT_GT(second, 5000);  // ours' bar
}
