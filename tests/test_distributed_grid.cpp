// Issue 26: the grid's cells shared out among the ranks of a job (`ssdd launch`, Gloo on
// the loopback), against one process computing the same grid.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/io/atomic_file.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// cells.jsonl by key; every line must parse.
std::map<std::string, nlohmann::json> cells_of(const std::string& dir) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& line : nonempty_lines(dir + "/cells.jsonl")) {
    auto j = nlohmann::json::parse(line);
    out.emplace(j.at("key").get<std::string>(), j);
  }
  return out;
}

bool rank_files_left(const std::string& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().filename().string().rfind("cells.rank-", 0) == 0) return true;
  return false;
}

class DistributedGrid : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::string(SSDD_CLI_PATH).empty()) return;
    dirs_ = new Dirs;
    make_tiny_baseline(*dirs_, evaluate::BaselineMethod::random, dirs_->sets.path() + "/random", 1);
    // The reference: one process, one thread, the whole grid (teacher, none and the set;
    // 3 seeds: 9 cells in 7 groups that share a network).
    const auto o = run_ssdd(grid_args(dirs_->one.path()));
    ASSERT_EQ(o.code, 0) << o.output;
    one_ = cells_of(dirs_->one.path());
  }
  static void TearDownTestSuite() { delete dirs_; }
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  }

  static std::string grid_args(const std::string& out, double timeout = 60) {
    return "evaluate --teacher " + dirs_->teacher.path() + " --data-dir " + dirs_->data.path() + " --distilled random=" +
           dirs_->sets.path() + "/random/distilled.pt --arch convnet:8-8 --seeds 3 --pretrain-epochs 5 "
           "--probe-epochs 2 --threads 1 --timeout " + std::to_string(timeout) + " --out " + out;
  }
  // The same cells as the one-process grid, with the same numbers.
  static void expect_one_process_cells(const std::string& dir) {
    const auto cells = cells_of(dir);
    ASSERT_EQ(cells.size(), one_.size());
    for (const auto& [key, record] : one_) {
      ASSERT_TRUE(cells.count(key)) << record.dump();
      const auto& got = cells.at(key);
      EXPECT_NEAR(got.at("probe_test_accuracy").get<double>(), record.at("probe_test_accuracy").get<double>(), 1e-6)
          << key;
      if (record.contains("pretrain_final_loss")) {
        EXPECT_NEAR(got.at("pretrain_final_loss").get<double>(), record.at("pretrain_final_loss").get<double>(), 1e-5);
      }
    }
    EXPECT_FALSE(rank_files_left(dir));
  }

  struct Dirs : TinyTeacher {
    TempDir sets, one;
  };
  static Dirs* dirs_;
  static std::map<std::string, nlohmann::json> one_;
};
DistributedGrid::Dirs* DistributedGrid::dirs_ = nullptr;
std::map<std::string, nlohmann::json> DistributedGrid::one_;

}  // namespace

TEST_F(DistributedGrid, TwoRanksComputeTheCellsOfOneProcessIntoOneCellsFile) {
  ASSERT_EQ(one_.size(), 9u);
  TempDir out;
  const auto o = run_ssdd("launch -n 2 -- " + grid_args(out.path()));
  ASSERT_EQ(o.code, 0) << o.output;
  expect_one_process_cells(out.path());
  EXPECT_TRUE(has(o.output, "shared among 2 ranks")) << o.output;
  // Both ranks did work: rank 1 logged its own cells.
  const std::string rank1_log = io::read_file(out.path() + "/log.rank-1");
  const auto at = rank1_log.rfind(" cells run by this rank");
  ASSERT_NE(at, std::string::npos) << rank1_log;
  const auto from = rank1_log.find_last_of(" |", at - 1) + 1;
  const int rank1_cells = std::stoi(rank1_log.substr(from, at - from));
  EXPECT_GE(rank1_cells, 1) << rank1_log;
  EXPECT_LT(rank1_cells, 9) << rank1_log;
  EXPECT_TRUE(std::filesystem::exists(out.path() + "/results.json"));
  // Rank 0 alone prints the table.
  EXPECT_EQ(o.output.find("cells run, "), o.output.rfind("cells run, ")) << o.output;
}

TEST_F(DistributedGrid, AKilledRankStopsTheJobNamedAndOneProcessResumesIt) {
  TempDir out;
  // Rank 1 is killed (SIGKILL) once it has written its first cell.
  const std::string rank1 = shell_signal_when_file_appears(std::string(SSDD_CLI_PATH) + " " + grid_args(out.path()),
                                                          out.path() + "/cells.rank-1.jsonl", "-9");
  const auto killed = run_ssdd("launch -n 2 --grace 5 -- bash -c 'if [ \"$RANK\" = 1 ]; then " + rank1 +
                               "; else exec " + SSDD_CLI_PATH + " " + grid_args(out.path()) + "; fi'");
  EXPECT_NE(killed.code, 0) << killed.output;
  EXPECT_TRUE(has(killed.output, "ssdd launch: rank 1 exited with code 137")) << killed.output;
  ASSERT_TRUE(rank_files_left(out.path()));

  const auto resumed = run_ssdd(grid_args(out.path()));
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_FALSE(has(resumed.output, " 0 reused")) << resumed.output;  // rank 1's cell was kept
  expect_one_process_cells(out.path());
}

TEST_F(DistributedGrid, AOneProcessGridResumesOnTwoRanks) {
  TempDir out;
  kill_when_file_appears(std::string(SSDD_CLI_PATH) + " " + grid_args(out.path()), out.path() + "/cells.jsonl",
                         /*nonempty=*/true);
  const auto before = cells_of(out.path()).size();
  ASSERT_GE(before, 1u);
  ASSERT_LT(before, one_.size());
  const auto resumed = run_ssdd("launch -n 2 -- " + grid_args(out.path()));
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_TRUE(has(resumed.output, std::to_string(before) + " already done")) << resumed.output;
  expect_one_process_cells(out.path());
}

TEST_F(DistributedGrid, ARankThatHangsMidGridStopsTheJobNamingIt) {
  TempDir out;
  // Rank 1 freezes (stops itself with SIGSTOP) once it has recorded its first cell, between
  // two requests to the job's store; rank 0 finishes the work it can take and, when no cell is
  // finished anywhere for the timeout, names rank 1. The fault point stops it at that moment
  // exactly: a SIGSTOP from outside may land halfway through a store request, which holds up
  // every rank's requests (the store's own timeout then ends the job, without naming a rank).
  const auto o = run_ssdd("launch -n 2 --grace 2 -- bash -c 'if [ \"$RANK\" = 1 ]; then export "
                          "SSDD_INJECT_FAULT=evaluate.freeze@1; fi; exec " +
                          std::string(SSDD_CLI_PATH) + " " + grid_args(out.path(), 10) + "'");
  EXPECT_NE(o.code, 0) << o.output;
  EXPECT_TRUE(has(o.output, "rank(s) 1 did not finish their share")) << o.output;
  EXPECT_TRUE(has(o.output, "ssdd launch: rank 0 exited with code 1")) << o.output;
}

TEST_F(DistributedGrid, StagesThatDoNotShareTheirWorkYetAreRefusedUnderALauncher) {
  TempDir out;
  const auto baseline = run_ssdd("launch -n 2 -- baseline random --teacher " + dirs_->teacher.path() + " --data-dir " +
                                 dirs_->data.path() + " --budget 12 --threads 1 --out " + out.path() + "/random");
  EXPECT_NE(baseline.code, 0) << baseline.output;
  EXPECT_TRUE(has(baseline.output, "baseline: runs as one process for now")) << baseline.output;
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/random/distilled.pt"));
  const auto run = run_ssdd("launch -n 2 -- run quick --out " + out.path() + "/quick");
  EXPECT_NE(run.code, 0) << run.output;
  EXPECT_TRUE(has(run.output, "ssdd run: runs as one process for now")) << run.output;
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/quick"));
}
