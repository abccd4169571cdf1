#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "test_util.h"

namespace {

struct Outcome {
  int code = -1;
  std::string output;  // stdout and stderr together
};

Outcome run_cli(const std::string& args) {
  const std::string cli = SSDD_CLI_PATH;
  Outcome o;
  FILE* pipe = ::popen((cli + " " + args + " 2>&1").c_str(), "r");
  if (!pipe) return o;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) o.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  }
};

}  // namespace

TEST_F(Cli, HelpListsEverySubcommandAndExitsZero) {
  const auto o = run_cli("--help");
  EXPECT_EQ(o.code, 0);
  for (const char* sub : {"info", "teacher", "probe", "distill", "inspect", "baseline", "evaluate"})
    EXPECT_NE(o.output.find(sub), std::string::npos) << sub;
}

TEST_F(Cli, EverySubcommandHasHelp) {
  for (const char* sub : {"info", "teacher", "probe", "distill", "inspect", "baseline", "evaluate"}) {
    const auto o = run_cli(std::string(sub) + " --help");
    EXPECT_EQ(o.code, 0) << sub;
    EXPECT_NE(o.output.find("Usage"), std::string::npos) << sub;
  }
}

TEST_F(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run_cli("").code, 2);                      // no subcommand
  EXPECT_EQ(run_cli("no-such-command").code, 2);
  EXPECT_EQ(run_cli("teacher").code, 2);                // --out is required
  EXPECT_EQ(run_cli("probe --encoder pixels --epochs notanumber").code, 2);
}

TEST_F(Cli, RuntimeErrorsExitOneWithOneClearLine) {
  TempDir dir;
  auto o = run_cli("probe --data no-such-set --encoder pixels");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.output.find("ssdd: error:"), std::string::npos) << o.output;
  EXPECT_NE(o.output.find("fashion-mnist"), std::string::npos) << "lists the known data sets: " << o.output;
  o = run_cli("inspect " + dir.path() + "/missing.pt");
  EXPECT_NE(o.code, 0);
  o = run_cli("probe --data mnist --data-dir " + dir.path() + " --encoder pixels");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.output.find(dir.path()), std::string::npos) << "names the missing file: " << o.output;
  o = run_cli("teacher --preset nonesuch --out " + dir.path() + "/t");
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.output.find("nonesuch"), std::string::npos) << o.output;
}
