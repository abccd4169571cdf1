// results.json, typed (io/grid_results_file.h): what evaluate/ writes reads back unchanged,
// older files keep their meaning, and a broken file is named with its field.
#include <gtest/gtest.h>

#include <sstream>

#include "ssdd/core/error.h"
#include "ssdd/io/grid_results_file.h"
#include "ssdd/io/grid_results_markdown.h"

using namespace ssdd;
using nlohmann::json;

namespace {

// A results.json as a grid of two rows with every optional part writes it.
json full_results() {
  const json teacher_cell = {{"row", "teacher"}, {"kind", "teacher"}, {"arch", "resnet18"}, {"target", "cifar10"},
                             {"n", 1},           {"probe_mean", 0.8},  {"probe_std", 0.0}};
  json set_cell = {{"row", "ours"},      {"kind", "set"},       {"arch", "convnet"}, {"target", "cifar10"},
                   {"n", 3},             {"probe_mean", 0.65},  {"probe_std", 0.01}, {"pretrain_seconds_mean", 12.5}};
  set_cell["probes"]["standardized"] = {{"mean", 0.65}, {"std", 0.01}, {"n", 3}};
  set_cell["probes"]["krrst"] = {{"mean", 0.6}, {"std", 0.02}, {"n", 3}};
  set_cell["alignment"] = {{"r2_mean", 0.4}, {"r2_std", 0.01}, {"cka_mean", 0.8},
                           {"cka_std", 0.02}, {"probe_mean", 0.6}, {"probe_std", 0.03}};
  set_cell["finetune"] = {{"mean", 0.9}, {"std", 0.004}, {"n", 3}};
  return {{"source", "cifar10"},
          {"teacher", {{"dir", "t"}, {"arch", "resnet18"}, {"id", "abc"}, {"feature_dim", 128}}},
          {"rows", {"teacher", "ours"}},
          {"row_kinds", {"teacher", "set"}},
          {"archs", {"convnet"}},
          {"teacher_arch", "resnet18"},
          {"targets", {"cifar10"}},
          {"protocol", {{"pretrain_epochs", 300}}},
          {"config", {{"seeds", 3}}},
          {"records", json::array({{{"row", "ours"}, {"seed", 0}}})},
          {"row_stored", {nullptr, 99.9}},
          {"row_sets", {0, 1}},
          {"probes", {"standardized", "krrst"}},
          {"summary", {teacher_cell, set_cell}}};
}

}  // namespace

TEST(GridResultsFile, ReadsBackWhatItWritesUnchanged) {
  const json original = full_results();
  const io::GridResults r = io::grid_results_from_json(original);
  EXPECT_EQ(io::to_json(r), original);
  ASSERT_EQ(r.summary.size(), 2u);
  const io::CellSummary& ours = r.summary[1];
  EXPECT_DOUBLE_EQ(ours.probes.at("krrst").mean, 0.6);
  ASSERT_TRUE(ours.alignment && ours.finetune && ours.pretrain_seconds_mean);
  EXPECT_DOUBLE_EQ(ours.alignment->cka.std, 0.02);
  EXPECT_FALSE(r.row_stored[0].has_value());
  EXPECT_DOUBLE_EQ(*r.row_stored[1], 99.9);
}

TEST(GridResultsFile, TheTeacherRowFillsEveryArchitecturesTable) {
  const io::GridResults r = io::grid_results_from_json(full_results());
  EXPECT_NE(r.find("teacher", "convnet", "cifar10"), nullptr);   // a table of convnet
  EXPECT_EQ(r.find_exact("teacher", "convnet", "cifar10"), nullptr);
  EXPECT_NE(r.find_exact("teacher", "resnet18", "cifar10"), nullptr);
  EXPECT_EQ(r.find("ours", "vgg11", "cifar10"), nullptr);
}

TEST(GridResultsFile, AnOlderFileKeepsItsMeaning) {
  json old = full_results();
  for (const char* key : {"probes", "row_stored", "row_sets", "row_kinds", "teacher_arch"}) old.erase(key);
  old["summary"][1].erase("probes");
  const io::GridResults r = io::grid_results_from_json(old);
  EXPECT_EQ(r.probes, std::vector<std::string>{"standardized"});  // the one protocol there was
  EXPECT_TRUE(r.row_stored.empty());
  EXPECT_TRUE(r.summary[1].probes.empty());
  EXPECT_DOUBLE_EQ(r.summary[1].probe.mean, 0.65);
}

TEST(GridResultsFile, ABrokenFileNamesThePathAndTheField) {
  const auto message = [](const json& j) {
    try {
      io::grid_results_from_json(j, "runs/x/results.json");
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  json no_summary = full_results();
  no_summary.erase("summary");
  EXPECT_NE(message(no_summary).find("runs/x/results.json"), std::string::npos) << message(no_summary);
  EXPECT_NE(message(no_summary).find("summary is missing"), std::string::npos) << message(no_summary);
  json bad_rows = full_results();
  bad_rows["rows"] = 3;
  EXPECT_NE(message(bad_rows).find("rows"), std::string::npos) << message(bad_rows);
  json bad_cell = full_results();
  bad_cell["summary"][1]["probe_mean"] = "high";
  EXPECT_NE(message(bad_cell).find("runs/x/results.json"), std::string::npos) << message(bad_cell);
  EXPECT_EQ(message(json::array()).find("no error"), std::string::npos);
}

TEST(GridResultsMarkdown, TheReportsSectionIsResultsMdOneLevelDown) {
  json j = full_results();
  j["protocol"] = {{"pretrain_epochs", 300}, {"pretrain_lr", 0.1},  {"weight_decay", 5e-4}, {"pretrain_batch", 256},
                   {"probe_epochs", 30},     {"probe_max_train", 0}, {"seeds", 3},          {"finetune", false}};
  j["probe_captions"] = {"standardised features, 30 epochs", "KRR-ST's protocol (raw features)"};
  const io::GridResults r = io::grid_results_from_json(j);
  const std::string file = io::grid_results_markdown(r);
  const std::string section = io::grid_results_markdown(r, {false, 3});
  ASSERT_EQ(file.rfind("# Evaluation results\n\n", 0), 0u) << file;
  // results.md without its title, every heading one level down.
  std::string expected;
  std::istringstream lines(file.substr(std::string("# Evaluation results\n\n").size()));
  for (std::string line; std::getline(lines, line);) expected += (line.rfind("##", 0) == 0 ? "#" : "") + line + "\n";
  EXPECT_EQ(section, expected);
  EXPECT_NE(section.find("### Linear probe, KRR-ST's protocol (raw features), convnet"), std::string::npos) << section;
  EXPECT_NE(section.find("| ours | 65.00 ± 1.00 |"), std::string::npos) << section;
  // A file from before captions were recorded names each protocol instead.
  j.erase("probe_captions");
  EXPECT_NE(io::grid_results_markdown(io::grid_results_from_json(j)).find("## Linear probe, protocol krrst, convnet"),
            std::string::npos);
}
