// A distillation's metrics.json, typed (io/set_metrics.h): what the distiller writes reads back
// unchanged, NaN survives as null, and a broken file is named with its field.
#include <gtest/gtest.h>

#include <cmath>

#include "ssdd/core/error.h"
#include "ssdd/io/set_metrics.h"

using namespace ssdd;
using nlohmann::json;

namespace {

json written_by_a_distillation() {
  return {{"loss", {0.9, 0.5, 0.25}},
          {"final_loss", 0.25},
          {"kernel", {{"rows", 1140}, {"features", 289}, {"precision", "float32"}, {"condition_max", 1e7}}},
          {"m", 285},
          {"seconds", 812.5},
          {"iterations_per_second", 1.23},
          {"storage",
           {{"items", {{{"name", "image_bases"}, {"floats", 25088}, {"images", 32.0}},
                       {{"name", "approx.rot90"}, {"floats", 1072}, {"images", 1.3673469387755102}}}},
            {"total_floats", 26160},
            {"image_equivalents", 33.36734693877551},
            {"image_floats", 784}}},
          {"approximation_heldout",
           {{{"view", "rot90"}, {"r2", 0.8}, {"r2_unshifted", 0.4}, {"r2_basis", 0.95}, {"r2_distilled", 0.99}}}},
          {"threads", 2}};
}

}  // namespace

TEST(SetMetricsFile, ReadsBackWhatTheDistillerWritesUnchanged) {
  const json original = written_by_a_distillation();
  const io::SetMetrics m = io::set_metrics_from_json(original);
  EXPECT_EQ(io::to_json(m), original);
  EXPECT_EQ(m.m, 285);
  ASSERT_EQ(m.storage.items.size(), 2u);
  EXPECT_EQ(m.storage.items[1].name, "approx.rot90");
  EXPECT_EQ(m.storage.total_floats, 26160);
  ASSERT_EQ(m.approximation_heldout.size(), 1u);
  EXPECT_DOUBLE_EQ(m.approximation_heldout[0].r2_basis, 0.95);
  // A set without approximation networks has none to report.
  json krrst = original;
  krrst["approximation_heldout"] = json::array();
  EXPECT_TRUE(io::set_metrics_from_json(krrst).approximation_heldout.empty());
}

TEST(SetMetricsFile, NanIsWrittenAsNullAndReadBackAsNan) {
  io::SetMetrics m = io::set_metrics_from_json(written_by_a_distillation());
  m.final_loss = NAN;
  m.approximation_heldout[0].r2 = NAN;
  const json j = json::parse(io::to_json(m).dump());  // as the file holds it
  EXPECT_TRUE(j.at("final_loss").is_null());
  const io::SetMetrics back = io::set_metrics_from_json(j);
  EXPECT_TRUE(std::isnan(back.final_loss));
  EXPECT_TRUE(std::isnan(back.approximation_heldout[0].r2));
  EXPECT_DOUBLE_EQ(back.approximation_heldout[0].r2_unshifted, 0.4);
}

TEST(SetMetricsFile, ABrokenFileNamesItselfAndTheField) {
  json j = written_by_a_distillation();
  j["storage"]["items"][1].erase("floats");
  try {
    io::set_metrics_from_json(j, "/runs/x/distill/ours/metrics.json");
    FAIL() << "read a stored tensor without its size";
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("/runs/x/distill/ours/metrics.json"), std::string::npos) << what;
    EXPECT_NE(what.find("storage.items[1].floats"), std::string::npos) << what;
  }
  json no_m = written_by_a_distillation();
  no_m.erase("m");
  EXPECT_THROW(io::set_metrics_from_json(no_m), DataError);
  EXPECT_THROW(io::set_metrics_from_json(json::array()), DataError);
}
