#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include "ssdd/core/error.h"
#include "ssdd/train/distributed.h"
#include "test_util.h"

using namespace ssdd;

namespace {

// Sets the given variables (nullopt: unset) for one test and puts the old values back.
class ScopedEnvironment {
 public:
  explicit ScopedEnvironment(const std::map<std::string, std::optional<std::string>>& values) {
    for (const char* name : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_PROCID",
                             "SLURM_NTASKS", "SLURM_LOCALID"}) {
      const char* old = std::getenv(name);
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
      ::unsetenv(name);
    }
    for (const auto& [name, value] : values)
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
  }
  ~ScopedEnvironment() {
    for (const auto& [name, value] : saved_) {
      if (value)
        ::setenv(name.c_str(), value->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

std::string config_error(const std::map<std::string, std::optional<std::string>>& values) {
  const ScopedEnvironment env(values);
  try {
    train::world_from_environment();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(World, WithoutLauncherVariablesARunIsOneProcess) {
  const ScopedEnvironment env({});
  const auto w = train::world_from_environment();
  EXPECT_EQ(w.size, 1);
  EXPECT_EQ(w.rank, 0);
  EXPECT_FALSE(w.distributed());
  EXPECT_EQ(w.launcher, "");
}

TEST(World, ReadsTorchrunsAndSlurmsVariables) {
  {
    const ScopedEnvironment env({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"MASTER_ADDR", "10.0.0.2"},
                                 {"MASTER_PORT", "29511"}});
    const auto w = train::world_from_environment();
    EXPECT_EQ(w.launcher, "torchrun");
    EXPECT_EQ(w.rank, 3);
    EXPECT_EQ(w.size, 4);
    EXPECT_EQ(w.local_rank, 1);
    EXPECT_EQ(w.master_addr, "10.0.0.2");
    EXPECT_EQ(w.master_port, 29511);
  }
  {
    const ScopedEnvironment env({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                                 {"MASTER_ADDR", "node01"}, {"MASTER_PORT", "12345"}});
    const auto w = train::world_from_environment();
    EXPECT_EQ(w.launcher, "slurm");
    EXPECT_EQ(w.rank, 5);
    EXPECT_EQ(w.size, 8);
    EXPECT_EQ(w.local_rank, 1);
  }
  {  // a one-task SLURM job is one process, whatever else is set
    const ScopedEnvironment env({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}});
    EXPECT_FALSE(train::world_from_environment().distributed());
  }
}

TEST(World, BadVariablesAreRefusedNamingThem) {
  EXPECT_TRUE(has(config_error({{"RANK", "4"}, {"WORLD_SIZE", "4"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "1"}}),
                  "RANK: expected an integer from 0 to 3, found '4'"));
  EXPECT_TRUE(has(config_error({{"RANK", "x"}, {"WORLD_SIZE", "2"}}), "RANK"));
  EXPECT_TRUE(has(config_error({{"RANK", "0"}}), "WORLD_SIZE"));
  EXPECT_TRUE(has(config_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "29500"}}), "MASTER_ADDR"));
  EXPECT_TRUE(has(config_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "0"}}),
                  "MASTER_PORT"));
  EXPECT_TRUE(has(config_error({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "2"}}), "job script"));
}

TEST(World, BackendsAreCheckedByName) {
  EXPECT_EQ(train::resolve_backend("", c10::Device(c10::kCPU)), "gloo");
  EXPECT_EQ(train::resolve_backend("gloo", c10::Device(c10::kCPU)), "gloo");
  EXPECT_THROW(train::resolve_backend("mpi", c10::Device(c10::kCPU)), ConfigError);
}

class Launch : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  }
};

TEST_F(Launch, TwoRanksAgreeOnEveryCollective) {
  const auto o = run_ssdd("launch -n 2 -- collectives --floats 4096 --iterations 3 --timeout 60");
  EXPECT_EQ(o.code, 0) << o.output;
  EXPECT_TRUE(has(o.output, "2 ranks (torchrun variables, gloo, cpu)")) << o.output;
  EXPECT_TRUE(has(o.output, "every collective gave the expected values")) << o.output;
}

TEST_F(Launch, OneProcessHasNoGroupToCheck) {
  const auto o = run_ssdd("collectives");
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_TRUE(has(o.output, "ssdd launch -n N")) << o.output;
}

TEST_F(Launch, AFailedRankStopsTheOthersAndIsNamed) {
  const auto start = std::chrono::steady_clock::now();
  const auto o = run_ssdd("launch -n 3 --grace 2 -- bash -c 'if [ \"$RANK\" = 1 ]; then exit 3; fi; sleep 60'");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(o.code, 3) << o.output;
  EXPECT_TRUE(has(o.output, "ssdd launch: rank 1 exited with code 3; stopping the other ranks")) << o.output;
  EXPECT_LT(seconds, 20) << "the sleeping ranks were not stopped";
}

TEST_F(Launch, ARankThatNeverJoinsTimesTheOthersOut) {
  // Rank 1 hangs instead of joining: rank 0 gives up after --timeout with one line naming itself.
  const auto start = std::chrono::steady_clock::now();
  const auto o = run_ssdd(std::string("launch -n 2 --grace 2 -- bash -c 'if [ \"$RANK\" = 1 ]; then sleep 60; else exec ") +
                          SSDD_CLI_PATH + " collectives --timeout 3; fi'");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(o.code, 0) << o.output;
  EXPECT_TRUE(has(o.output, "distributed: rank 0 of 2")) << o.output;
  EXPECT_TRUE(has(o.output, "ssdd launch: rank 0 exited with code 1")) << o.output;
  EXPECT_LT(seconds, 30);
}
