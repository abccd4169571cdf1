// Settings that take one of a few names (core/choice.h): every one is refused by name where
// a config is read, with its key, the valid names and the value found; on the command line
// too; and each name reads back as the enum it writes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ssdd/core/choice.h"
#include "ssdd/core/error.h"
#include "ssdd/distill/distiller.h"
#include "ssdd/evaluate/baselines.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/teacher/teacher.h"
#include "test_util.h"

using namespace ssdd;

namespace {

template <class Config>
std::string error_reading(const std::string& key, const std::string& value) {
  try {
    (void)Config::from_json(nlohmann::json{{key, value}}, "exp.toml [stage]");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(accepted)";
}

struct Case {
  std::string key, valid;
  std::string (*error)(const std::string&, const std::string&);
};

template <class E>
void expect_round_trip() {
  for (const auto& [value, name] : choice_names(E{})) {
    EXPECT_EQ(nlohmann::json(value), name);
    EXPECT_EQ(nlohmann::json(name).get<E>(), value) << name;
    EXPECT_EQ(parse_choice<E>(name, "test", "key"), value);
  }
}

}  // namespace

TEST(Choices, AnUnknownNameIsRefusedWithTheKeyTheValidNamesAndTheValue) {
  const std::vector<Case> cases = {
      {"method", "ours or krrst", error_reading<distill::DistillConfig>},
      {"krr_precision", "float32 or float64", error_reading<distill::DistillConfig>},
      {"real_augment", "crop-flip or none", error_reading<distill::DistillConfig>},
      {"augmentation", "predefined or random", error_reading<distill::DistillConfig>},
      {"approx_fit", "after or joint", error_reading<distill::DistillConfig>},
      {"optimizer", "lars or sgd", error_reading<teacher::TeacherConfig>},
      {"method", "random, kmeans or random-rot", error_reading<evaluate::BaselineConfig>},
      {"finetune_protocol", "ssdd or krrst", error_reading<evaluate::GridConfig>},
  };
  for (const auto& c : cases) {
    const std::string what = c.error(c.key, "nonesuch");
    for (const std::string& part : {std::string("exp.toml [stage]"), "'" + c.key + "'", c.valid, std::string("nonesuch")})
      EXPECT_NE(what.find(part), std::string::npos) << part << " not in: " << what;
  }
  const std::string number = [] {  // not a name at all
    try {
      (void)distill::DistillConfig::from_json({{"method", 3}}, "here");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(accepted)");
  }();
  EXPECT_NE(number.find("'method' takes a string"), std::string::npos) << number;
}

TEST(Choices, EveryNameReadsBackAsTheEnumItWrites) {
  expect_round_trip<distill::Method>();
  expect_round_trip<distill::KrrPrecision>();
  expect_round_trip<distill::RealAugment>();
  expect_round_trip<distill::Augmentation>();
  expect_round_trip<distill::ApproxFit>();
  expect_round_trip<teacher::Optimizer>();
  expect_round_trip<evaluate::BaselineMethod>();
  expect_round_trip<evaluate::FinetuneProtocol>();
  EXPECT_EQ(choice_list<evaluate::BaselineMethod>(), "random, kmeans or random-rot");
}

TEST(Choices, TheCommandLineTakesTheNamesAndRefusesOthersWithThem) {
  if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  const auto bad = run_ssdd("distill --preset quick --teacher x --out y --augmentation sometimes");
  EXPECT_EQ(bad.code, 2) << bad.output;
  for (const char* part : {"--augmentation", "sometimes", "predefined", "random"})
    EXPECT_NE(bad.output.find(part), std::string::npos) << part << " not in: " << bad.output;
  const auto number = run_ssdd("distill --preset quick --teacher x --out y --method 1");  // not the enum's number
  EXPECT_EQ(number.code, 2) << number.output;
  const auto baseline = run_ssdd("baseline median --teacher x --out y");
  EXPECT_EQ(baseline.code, 2) << baseline.output;
  EXPECT_NE(baseline.output.find("random-rot"), std::string::npos) << baseline.output;
}
