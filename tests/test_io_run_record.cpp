// run.json, typed (io/run_record.h): what `ssdd run` writes reads back unchanged, and a
// broken file is named with its field.
#include <gtest/gtest.h>

#include "ssdd/core/error.h"
#include "ssdd/io/run_record.h"

using namespace ssdd;
using nlohmann::json;

TEST(RunRecordFile, ReadsBackWhatItWritesUnchanged) {
  const json original = {{"name", "quick"},
                         {"config", "configs/quick.toml"},
                         {"teacher_dir", "/cache/teachers/x"},
                         {"finished", true},
                         {"seconds", 45.5},
                         {"updated", "2026-12-01T00:00:00Z"},
                         {"stages",
                          {{{"name", "teacher"}, {"dir", "/cache/teachers/x"}, {"hash", "x"}, {"action", "skipped"},
                            {"seconds", 0.0}},
                           {{"name", "distill ours"}, {"dir", "distill/ours"}, {"hash", "y"}, {"action", "ran"},
                            {"seconds", 12.5}}}},
                         {"machine", {{"cpu", "test"}, {"hardware_threads", 2}}}};
  const io::RunRecord r = io::run_record_from_json(original);
  EXPECT_EQ(io::to_json(r), original);
  ASSERT_EQ(r.stages.size(), 2u);
  EXPECT_EQ(r.stages[1].dir, "distill/ours");
  EXPECT_EQ(r.seconds, 45.5);
  // An unfinished run records no total.
  json running = original;
  running.erase("seconds");
  running["finished"] = false;
  EXPECT_EQ(io::to_json(io::run_record_from_json(running)), running);
}

TEST(RunRecordFile, ABrokenFileNamesItselfAndTheField) {
  json j = {{"stages", {{{"name", "teacher"}}}}, {"machine", json::object()}};
  try {
    io::run_record_from_json(j, "/runs/x/run.json");
    FAIL() << "read a stage without its folder";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("/runs/x/run.json"), std::string::npos) << what;
    EXPECT_NE(what.find("stages[0].dir"), std::string::npos) << what;
  }
  EXPECT_THROW(io::run_record_from_json({{"stages", json::array()}}), DataError);  // no machine
}
