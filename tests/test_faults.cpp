// Faults injected into real stages through the CLI (issue 11): each must stop the run with
// one clear line naming the stage, the iteration and the cause, exit non-zero, keep the last
// good checkpoint, and leave no partial file under a final name.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/train/checkpoint.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;
namespace fs = std::filesystem;

namespace {

struct Outcome {
  int exit_code = 0;
  std::string last_error_line;  // the last line of stderr
};

Outcome run_cli(const std::string& env, const std::string& args, const std::string& err_file) {
  const std::string command = env + " " + std::string(SSDD_CLI_PATH) + args + " >/dev/null 2>" + err_file;
  const int status = std::system(command.c_str());
  Outcome o;
  o.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) o.last_error_line = line;
  return o;
}

// Files under final names that are not complete: only temporaries may be partial, and a
// failed write removes its own.
std::vector<std::string> leftover_temporaries(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) found.push_back(e.path().string());
  return found;
}

// A small tmpfs, for a full disk or a read-only folder; unmounted at the end. Needs root
// (CAP_SYS_ADMIN): `mounted()` is false elsewhere and the test skips.
class SmallMount {
 public:
  SmallMount(const std::string& size, bool read_only) {
    ok_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", read_only ? MS_RDONLY : 0, ("size=" + size).c_str()) == 0;
  }
  ~SmallMount() {
    if (ok_) ::umount(dir_.path().c_str());
  }
  bool mounted() const { return ok_; }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  bool ok_ = false;
};

class FaultRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dirs_ = new TinyTeacher; }
  static void TearDownTestSuite() { delete dirs_; }
  // `ssdd distill` of the tiny set: 40 iterations, a checkpoint every 5.
  static std::string distill_args(const std::string& folder, const std::string& out) {
    auto c = tiny_distill_config(*dirs_, "ours");
    c.checkpoint_every = 5;
    io::write_json_file(folder + "/run.json", c.to_json());
    return " distill --config " + folder + "/run.json --out " + out;
  }
  static TinyTeacher* dirs_;
};
TinyTeacher* FaultRun::dirs_ = nullptr;

}  // namespace

TEST_F(FaultRun, NanLossStopsDistillationAndKeepsTheLastGoodCheckpoint) {
  if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  TempDir work;
  const auto o = run_cli("SSDD_INJECT_FAULT=distill.nan_loss@12", distill_args(work.path(), work.path() + "/out"),
                         work.path() + "/err");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.last_error_line.find("distill stopped at iteration 12: the outer loss became nan"), std::string::npos)
      << o.last_error_line;
  const auto checkpoint = train::load_checkpoint(work.path() + "/out/checkpoints");
  ASSERT_TRUE(checkpoint.has_value());
  EXPECT_EQ(checkpoint->meta.at("iteration"), 10);  // the last one before the fault
  EXPECT_FALSE(fs::exists(work.path() + "/out/distilled.pt"));
  EXPECT_TRUE(leftover_temporaries(work.path()).empty());
}

TEST_F(FaultRun, ExplodingGradientsStopDistillationWithTheirCause) {
  if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  TempDir work;
  const auto o = run_cli("SSDD_INJECT_FAULT=distill.exploding_gradient@7",
                         distill_args(work.path(), work.path() + "/out"), work.path() + "/err");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.last_error_line.find("distill stopped at iteration 7: exploding gradients"), std::string::npos)
      << o.last_error_line;
  const auto checkpoint = train::load_checkpoint(work.path() + "/out/checkpoints");
  ASSERT_TRUE(checkpoint.has_value());
  EXPECT_EQ(checkpoint->meta.at("iteration"), 5);
}

TEST_F(FaultRun, NanLossStopsTheTeacherAndKeepsItsLastEpoch) {
  if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  TempDir work;
  // 256 images in batches of 64: 4 steps an epoch; step 9 is in the third epoch.
  const std::string args = " teacher --preset quick --data mnist --data-dir " + dirs_->data.path() +
                           " --arch convnet:8-16:gap --projector 32 32 --epochs 3 --batch-size 64 --probe-epochs 1"
                           " --threads 2 --out " + work.path() + "/out";
  const auto o = run_cli("SSDD_INJECT_FAULT=teacher.nan_loss@9", args, work.path() + "/err");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.last_error_line.find("teacher stopped at iteration"), std::string::npos) << o.last_error_line;
  EXPECT_NE(o.last_error_line.find("nan in epoch 3"), std::string::npos) << o.last_error_line;
  const auto checkpoint = train::load_checkpoint(work.path() + "/out/checkpoints");
  ASSERT_TRUE(checkpoint.has_value());
  EXPECT_EQ(checkpoint->meta.at("epochs_done"), 2);
  EXPECT_FALSE(fs::exists(work.path() + "/out/teacher.pt"));
}

TEST_F(FaultRun, AFullDiskIsOneClearErrorAndLeavesNoPartialFile) {
  if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  SmallMount disk("48k", false);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  TempDir work;
  const auto o = run_cli("", distill_args(work.path(), disk.path() + "/out"), work.path() + "/err");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.last_error_line.find("No space left on device"), std::string::npos) << o.last_error_line;
  EXPECT_NE(o.last_error_line.find(disk.path()), std::string::npos) << o.last_error_line;
  EXPECT_TRUE(leftover_temporaries(disk.path()).empty());
  // Whatever checkpoint made it to the disk whole still loads.
  if (fs::exists(disk.path() + "/out/checkpoints/checkpoint.ckpt")) {
    EXPECT_TRUE(train::load_checkpoint(disk.path() + "/out/checkpoints").has_value());
  }
}

TEST_F(FaultRun, AReadOnlyOutputFolderIsOneClearError) {
  if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  SmallMount disk("48k", true);
  if (!disk.mounted()) GTEST_SKIP() << "cannot mount a tmpfs here (needs root)";
  TempDir work;
  const auto o = run_cli("", distill_args(work.path(), disk.path() + "/out"), work.path() + "/err");
  EXPECT_EQ(o.exit_code, 1);
  EXPECT_NE(o.last_error_line.find("Read-only file system"), std::string::npos) << o.last_error_line;
  EXPECT_NE(o.last_error_line.find(disk.path()), std::string::npos) << o.last_error_line;
}
