#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "test_util.h"

namespace {

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  }
};

}  // namespace

TEST_F(Cli, HelpListsEverySubcommandAndExitsZero) {
  const auto o = run_ssdd("--help");
  EXPECT_EQ(o.code, 0);
  for (const char* sub : {"info", "teacher", "probe", "distill", "inspect", "baseline", "evaluate"})
    EXPECT_NE(o.output.find(sub), std::string::npos) << sub;
}

TEST_F(Cli, EverySubcommandHasHelp) {
  for (const char* sub : {"info", "teacher", "probe", "distill", "inspect", "baseline", "evaluate"}) {
    const auto o = run_ssdd(std::string(sub) + " --help");
    EXPECT_EQ(o.code, 0) << sub;
    EXPECT_NE(o.output.find("Usage"), std::string::npos) << sub;
  }
}

TEST_F(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run_ssdd("").code, 2);                      // no subcommand
  EXPECT_EQ(run_ssdd("no-such-command").code, 2);
  EXPECT_EQ(run_ssdd("teacher").code, 2);                // --out is required
  EXPECT_EQ(run_ssdd("probe --encoder pixels --epochs notanumber").code, 2);
}

TEST_F(Cli, RuntimeErrorsExitOneWithOneClearLine) {
  TempDir dir;
  auto o = run_ssdd("probe --data no-such-set --encoder pixels");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.output.find("ssdd: error:"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("fashion-mnist"), std::string::npos) << "lists the known data sets: " << o.output;
  o = run_ssdd("inspect " + dir.path() + "/missing.pt");
  EXPECT_NE(o.code, 0);
  o = run_ssdd("probe --data mnist --data-dir " + dir.path() + " --encoder pixels");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.output.find(dir.path()), std::string::npos) << "names the missing file: " << o.output;
  o = run_ssdd("teacher --preset nonesuch --out " + dir.path() + "/t");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.output.find("nonesuch"), std::string::npos) << o.output;
}

TEST_F(Cli, BenchRunsTheStepAndTheTeacherGridSubcommandsEachInItsOwnShape) {
  const std::string dir = testing::TempDir() + "/bench-cli";
  std::system(("mkdir -p " + dir).c_str());
  // The distillation step still answers at `ssdd bench` itself, beside its subcommands.
  auto o = run_ssdd("bench --m 4 --batch 4 --res 8 --widths 4 --dim 3 --iters 1 --warmup 0 --threads 1 --matmul-size 32");
  EXPECT_EQ(o.code, 0) << o.output;
  o = run_ssdd("bench teacher --preset quick --batch 4 --res 12 --channels 3 --iters 1 --warmup 0 --threads 1 "
               "--matmul-size 32 --json " + dir + "/teacher.json");
  EXPECT_EQ(o.code, 0) << o.output;
  EXPECT_NE(o.output.find("teacher step, convnet:32-64-128:gap, float32, batch 4, 3x12x12"), std::string::npos)
      << o.output;
  o = run_ssdd("bench pretrain --arch convnet:4-4 --pairs 10 --res 8 --dim 3 --epochs 2 --threads 1 "
               "--precision bfloat16 --json " + dir + "/pretrain.json");
  EXPECT_EQ(o.code, 0) << o.output;
  EXPECT_NE(o.output.find("pretraining cell, convnet:4-4, bfloat16, 10 pairs, 1 threads: 2 steps"), std::string::npos)
      << o.output;
  o = run_ssdd("bench probe --train 64 --test 16 --features 5 --epochs 1 --threads 1 --json " + dir + "/probe.json");
  EXPECT_EQ(o.code, 0) << o.output;
  for (const char* f : {"teacher.json", "pretrain.json", "probe.json"})
    EXPECT_EQ(std::system(("test -s " + dir + "/" + f).c_str()), 0) << f;
  EXPECT_EQ(run_ssdd("bench teacher --channels 2 --iters 1 --matmul-size 0").code, 1);  // one clear line, exit 1
}
