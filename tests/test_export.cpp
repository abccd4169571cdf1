// `ssdd export` (issue 24): a distilled set's decoded pairs, every view, as views.pt (read by
// C++ and by Python's torch.load), PNG files with targets.csv, and export.json; nothing
// half-written, nothing of the user's touched.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/distill/parameterization.h"
#include "ssdd/distill/set_export.h"
#include "ssdd/distill/view_pairs.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/image_decode.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/owned_folder.h"
#include "ssdd/io/tensor_archive.h"
#include "test_util.h"

using namespace ssdd;
namespace fs = std::filesystem;

namespace {

nlohmann::json set_meta(const std::string& method, std::vector<float> mean, std::vector<float> std) {
  return {{"method", method}, {"data", "tiny"}, {"norm_mean", mean}, {"norm_std", std}};
}

// krrst-like explicit form, RGB, two views with every view's target stored (T*m rows).
std::string save_explicit_set(const std::string& dir) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  auto set = distill::DistilledSet::explicit_form(torch::randn({5, 3, 6, 6}, gen), torch::randn({10, 4}, gen),
                                                  data::parse_views("rot0,hflip"));
  set.meta = set_meta("krrst", {0.5f, 0.4f, 0.3f}, {0.2f, 0.25f, 0.3f});
  const std::string path = dir + "/explicit.pt";
  set.save(path);
  return path;
}

// `ours`-like: grey images from bases, targets from approximation networks, three views.
std::string save_parameterized_set(const std::string& dir) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(12);
  distill::ParameterizationOptions init;
  init.image_bases = 4, init.rep_bases = 3, init.base_scale = 2;
  auto param = distill::init_parameterized(torch::randn({16, 1, 8, 8}, gen), torch::randn({16, 6}, gen),
                                           torch::arange(4), init, 1);
  torch::manual_seed(1);
  auto set = distill::DistilledSet::parameterized_form(std::move(param), distill::ApproximationNets(3, 3, 8),
                                                       data::parse_views("rot0,rot90,rot180"));
  set.meta = set_meta("ours", {0.286f}, {0.353f});
  const std::string path = dir + "/ours.pt";
  set.save(path);
  return path;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::istringstream in(io::read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> pngs_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".png") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Everything an export writes, checked against DistilledSet's own decoding (view_pairs,
// which evaluation's pretraining trains on).
void expect_export_matches(const std::string& set_path, const std::string& out) {
  auto set = distill::DistilledSet::load(set_path);
  const distill::ViewPairs pairs = distill::view_pairs(set);
  const int64_t rows = set.size() * set.views(), channels = pairs.images.size(1);
  ASSERT_EQ(pairs.images.size(0), rows);

  const auto t = io::load_tensors(out + "/views.pt");
  EXPECT_EQ(t.size(), 6u);
  EXPECT_TRUE(torch::equal(t.at("images"), pairs.images));
  EXPECT_TRUE(torch::equal(t.at("targets"), pairs.targets));
  EXPECT_EQ(t.at("view").scalar_type(), torch::kLong);
  EXPECT_TRUE(torch::equal(t.at("view"), torch::arange(rows).div(set.size(), "floor")));
  EXPECT_TRUE(torch::equal(t.at("index"), torch::arange(rows).remainder(set.size())));
  EXPECT_TRUE(torch::equal(t.at("mean"), torch::tensor(set.meta.at("norm_mean").get<std::vector<float>>())));
  EXPECT_TRUE(torch::equal(t.at("std"), torch::tensor(set.meta.at("norm_std").get<std::vector<float>>())));
  // The rows really are the views: row v*m + i is view v of image i.
  const auto views = set.view_list();
  for (int64_t v = 0; v < set.views(); ++v)
    EXPECT_TRUE(torch::equal(t.at("images").narrow(0, v * set.size(), set.size()),
                             data::apply_view(set.images().detach(), views[static_cast<size_t>(v)])));

  const auto names = pngs_in(out + "/images");
  ASSERT_EQ(static_cast<int64_t>(names.size()), rows);
  const auto csv = lines_of(out + "/targets.csv");
  ASSERT_EQ(static_cast<int64_t>(csv.size()), rows + 1);
  EXPECT_EQ(csv[0].rfind("file,view,index,t0,", 0), 0u) << csv[0];
  const int64_t d = pairs.targets.size(1);
  for (int64_t r = 0; r < rows; ++r) {
    const std::string& line = csv[static_cast<size_t>(r + 1)];
    // Names sort in row order and show view and index; the CSV's rows follow them.
    const std::string view = views[static_cast<size_t>(r / set.size())].name();
    EXPECT_NE(names[static_cast<size_t>(r)].find("-" + view + "-i"), std::string::npos) << names[static_cast<size_t>(r)];
    EXPECT_EQ(line.rfind("images/" + names[static_cast<size_t>(r)] + "," + std::to_string(r / set.size()) + "," +
                             std::to_string(r % set.size()) + ",",
                         0),
              0u)
        << line;
    std::vector<float> values;
    std::istringstream cells(line.substr(line.find(',', line.find(',', line.find(',') + 1) + 1) + 1));
    for (std::string cell; std::getline(cells, cell, ',');) values.push_back(std::stof(cell));
    ASSERT_EQ(static_cast<int64_t>(values.size()), d);
    EXPECT_TRUE(torch::equal(torch::tensor(values), pairs.targets[r])) << "row " << r;
  }
  // A PNG holds the denormalised pixels of its row.
  const int64_t last = rows - 1;
  const auto png = io::read_image(out + "/images/" + names.back());
  ASSERT_EQ(png.channels, channels);
  const at::Tensor expected = (pairs.images[last] * t.at("std").view({-1, 1, 1}) + t.at("mean").view({-1, 1, 1}))
                                  .clamp(0, 1)
                                  .mul(255)
                                  .round()
                                  .to(torch::kUInt8)
                                  .permute({1, 2, 0})
                                  .contiguous();
  EXPECT_TRUE(std::equal(png.pixels.begin(), png.pixels.end(), expected.data_ptr<uint8_t>()));

  const auto meta = io::parse_json_file(out + "/export.json");
  EXPECT_EQ(meta.at("rows").get<int64_t>(), rows);
  EXPECT_EQ(meta.at("method"), set.meta.at("method"));
  EXPECT_EQ(meta.at("views").size(), static_cast<size_t>(set.views()));
}

class Export : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  }
};

}  // namespace

TEST(SetExport, ExplicitAndParameterizedSetsExportEveryViewAsTheirDecoding) {
  TempDir dir;
  for (const std::string& set : {save_explicit_set(dir.path()), save_parameterized_set(dir.path())}) {
    SCOPED_TRACE(set);
    const std::string out = set + ".export";
    const auto summary = distill::export_set(set, out, {});
    EXPECT_EQ(summary.rows, summary.images * summary.views);
    expect_export_matches(set, out);
    EXPECT_TRUE(io::is_claimed(out));
  }
  // Nothing left beside the exports (the temporary folders were moved into place).
  EXPECT_EQ(entries_of(dir.path()),
            (std::vector<std::string>{"explicit.pt", "explicit.pt.export", "ours.pt", "ours.pt.export"}));
}

TEST(SetExport, ReexportReplacesTheEarlierExportAsAWhole) {
  TempDir dir;
  const std::string set = save_parameterized_set(dir.path()), out = dir.path() + "/export";
  distill::export_set(set, out, {});
  ASSERT_TRUE(fs::exists(out + "/images"));
  distill::ExportOptions pt_only;
  pt_only.pngs = false;
  distill::export_set(set, out, pt_only);
  // The earlier export's PNGs and CSV are gone: the folder never mixes two exports.
  EXPECT_EQ(entries_of(out), (std::vector<std::string>{".ssdd", ".ssdd.lock", "export.json", "views.pt"}));
  EXPECT_EQ(io::parse_json_file(out + "/export.json").at("formats"), nlohmann::json({"pt"}));
}

TEST(SetExport, AnExportIntoAFolderAnotherProcessIsReplacingIsRefusedAndTheFolderKept) {
  TempDir dir;
  const std::string set = save_parameterized_set(dir.path()), out = dir.path() + "/export";
  distill::export_set(set, out, {});
  const std::string before = io::read_file(out + "/views.pt");
  // Another process (flock(1) on the folder's lock file) is replacing this export.
  ASSERT_EQ(std::system(("flock -n " + out + "/.ssdd.lock sleep 3 & sleep 0.5").c_str()), 0);
  distill::ExportOptions pt_only;
  pt_only.pngs = false;
  try {
    distill::export_set(set, out, pt_only);
    ADD_FAILURE() << "exported into a folder another process holds";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another ssdd process"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::exists(out + "/images"));  // the earlier export is whole
  EXPECT_EQ(io::read_file(out + "/views.pt"), before);
  EXPECT_EQ(entries_of(dir.path()), (std::vector<std::string>{"export", "ours.pt"}));  // no temporary left
}

TEST(SetExport, PythonTorchLoadGivesTheSameTensors) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "python3 with torch not installed (Debian's python3-torch)";
  TempDir dir;
  const std::string set = save_parameterized_set(dir.path()), out = dir.path() + "/export";
  distill::export_set(set, out, {});
  // Python loads views.pt, checks that it holds plain tensors of the documented types and
  // shapes, and saves what it read; C++ compares that with its own decoding bit for bit.
  const std::string script = dir.path() + "/check.py";
  io::write_file_atomic(script,
                        "import sys, torch\n"
                        "d = torch.load(sys.argv[1])\n"
                        "assert sorted(d) == ['images', 'index', 'mean', 'std', 'targets', 'view'], sorted(d)\n"
                        "assert all(type(v) is torch.Tensor for v in d.values())\n"
                        "n, c = d['images'].shape[0], d['images'].shape[1]\n"
                        "assert d['images'].dtype == torch.float32 and d['targets'].dtype == torch.float32\n"
                        "assert d['view'].dtype == torch.int64 and d['index'].dtype == torch.int64\n"
                        "assert d['targets'].shape[0] == n and d['view'].shape == (n,) and d['mean'].shape == (c,)\n"
                        "torch.save({k: v.clone() for k, v in d.items()}, sys.argv[2])\n");
  const std::string back = dir.path() + "/from-python.pt";
  ASSERT_EQ(std::system(("/usr/bin/python3 " + script + " " + out + "/views.pt " + back).c_str()), 0);
  auto loaded = distill::DistilledSet::load(set);
  const auto pairs = distill::view_pairs(loaded);
  const auto from_python = io::load_tensors(back);
  EXPECT_TRUE(torch::equal(from_python.at("images"), pairs.images));
  EXPECT_TRUE(torch::equal(from_python.at("targets"), pairs.targets));
  EXPECT_TRUE(torch::equal(from_python.at("view"), pairs.view));
  EXPECT_TRUE(torch::equal(from_python.at("index"), pairs.index));
}

TEST_F(Export, CliExportsBothFormatsAndPrintsOneSummaryLine) {
  TempDir dir;
  const std::string set = save_explicit_set(dir.path()), out = dir.path() + "/out";
  const auto o = run_ssdd("export " + set + " --out " + out);
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_NE(o.output.find("exported 10 pairs (5 images x 2 views"), std::string::npos) << o.output;
  expect_export_matches(set, out);
  EXPECT_EQ(io::parse_json_file(out + "/export.json").at("command").get<std::string>().rfind("ssdd export ", 0), 0u);
  const auto png_only = run_ssdd("export " + set + " --out " + dir.path() + "/png --format png");
  ASSERT_EQ(png_only.code, 0) << png_only.output;
  EXPECT_FALSE(fs::exists(dir.path() + "/png/views.pt"));
  EXPECT_EQ(pngs_in(dir.path() + "/png/images").size(), 10u);
}

TEST_F(Export, ANonEmptyFolderOfTheUsersIsRefusedInOneLineAndLeftAlone) {
  TempDir dir;
  const std::string set = save_explicit_set(dir.path()), out = dir.path() + "/mine";
  io::make_dirs(out);
  io::write_file_atomic(out + "/notes.txt", "mine");
  const auto o = run_ssdd("export " + set + " --out " + out);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << o.output;
  EXPECT_NE(o.output.find(out), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("--force"), std::string::npos) << o.output;
  EXPECT_EQ(entries_of(out), std::vector<std::string>{"notes.txt"});
  EXPECT_EQ(io::read_file(out + "/notes.txt"), "mine");
  EXPECT_EQ(entries_of(dir.path()), (std::vector<std::string>{"explicit.pt", "mine"}));
  // --force lets it in, beside the user's file.
  const auto forced = run_ssdd("export " + set + " --out " + out + " --force");
  ASSERT_EQ(forced.code, 0) << forced.output;
  EXPECT_EQ(io::read_file(out + "/notes.txt"), "mine");
  expect_export_matches(set, out);
}

TEST_F(Export, ATruncatedOrMissingSetIsRefusedNamingItAndNothingIsCreated) {
  TempDir dir;
  const std::string set = save_parameterized_set(dir.path());
  fs::resize_file(set, fs::file_size(set) / 2);
  for (const std::string& path : {set, dir.path() + "/no-such.pt"}) {
    const auto o = run_ssdd("export " + path + " --out " + dir.path() + "/out");
    EXPECT_EQ(o.code, 1) << o.output;
    EXPECT_EQ(std::count(o.output.begin(), o.output.end(), '\n'), 1) << o.output;
    EXPECT_NE(o.output.find(path), std::string::npos) << o.output;
    EXPECT_EQ(entries_of(dir.path()), std::vector<std::string>{"ours.pt"});
  }
}

TEST_F(Export, HelpExplainsTheFiles) {
  const auto o = run_ssdd("export --help");
  EXPECT_EQ(o.code, 0);
  for (const char* word : {"views.pt", "targets.csv", "--format", "--force", "view-major"})
    EXPECT_NE(o.output.find(word), std::string::npos) << word;
}
