// Issue 26: the distillation's pool shards shared among the ranks of a job (`ssdd launch`,
// Gloo on the loopback), against one process computing the same shards in turn.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <string>

#include "ssdd/io/atomic_file.h"
#include "ssdd/io/tensor_archive.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;

namespace {

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// loss.csv's losses, one per iteration.
std::vector<double> losses_of(const std::string& dir) {
  std::vector<double> out;
  for (const auto& line : nonempty_lines(dir + "/loss.csv"))
    if (line.rfind("iteration", 0) != 0) out.push_back(std::stod(line.substr(line.find(',') + 1)));
  return out;
}

class DistributedDistill : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::string(SSDD_CLI_PATH).empty()) return;
    dirs_ = new Dirs;
    for (const char* method : {"ours", "krrst"}) {  // the reference: one process computes both shards
      const auto o = run_ssdd(distill_args(method, dirs_->one.path() + "/" + method));
      ASSERT_EQ(o.code, 0) << o.output;
    }
  }
  static void TearDownTestSuite() { delete dirs_; }
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  }

  // 2 shards of a 4-model pool re-initialised every 4 steps; 16 iterations, a checkpoint
  // every 4. krrst crops and flips its real batch (the teacher's targets each step); ours
  // matches every view.
  static std::string distill_args(const std::string& method, const std::string& out, int shards = 2) {
    return "distill --preset quick --method " + method + " --teacher " + dirs_->teacher.path() + " --data-dir " +
           dirs_->data.path() + " --budget 10 --iterations 16 --checkpoint-every 4 --real-batch 32 "
           "--pool-arch convnet:8-8 --pool-size 4 --pool-steps 4 --pool-shards " + std::to_string(shards) +
           " --image-bases 8 --rep-bases 4 --approx-hidden 4 --pca-pool 200 --lr 0.01 --threads 1 --timeout 60 --out " +
           out;
  }
  // The losses and the set of the one-process run of `method`.
  static void expect_one_process_set(const std::string& method, const std::string& dir) {
    const std::string one = dirs_->one.path() + "/" + method;
    const auto expected = losses_of(one), got = losses_of(dir);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-6 * (1 + expected[i])) << i;
    const auto a = io::load_tensors(one + "/distilled.pt"), b = io::load_tensors(dir + "/distilled.pt");
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, t] : a)
      if (name != "__meta__" && t.is_floating_point()) {
        EXPECT_TRUE(torch::allclose(t, b.at(name), 1e-5, 1e-6)) << method << " " << name;
      }
  }

  struct Dirs : TinyTeacher {
    TempDir one;
  };
  static Dirs* dirs_;
};
DistributedDistill::Dirs* DistributedDistill::dirs_ = nullptr;

}  // namespace

TEST_F(DistributedDistill, TwoRanksDistilTheSetOfOneProcessWithTheSameShards) {
  for (const char* method : {"ours", "krrst"}) {
    TempDir out;
    const auto o = run_ssdd("launch -n 2 -- " + distill_args(method, out.path()));
    ASSERT_EQ(o.code, 0) << o.output;
    expect_one_process_set(method, out.path());
    EXPECT_TRUE(std::filesystem::exists(out.path() + "/log.rank-1"));
    EXPECT_FALSE(has(io::read_file(out.path() + "/log.rank-1"), "distill: storage")) << "rank 1 wrote outputs";
  }
}

TEST_F(DistributedDistill, ACheckpointOfTwoRanksResumesOnOneAndOneOfOneOnTwo) {
  TempDir two_then_one, one_then_two;
  // A SIGTERM to the launcher reaches both ranks; they agree on the step, rank 0 checkpoints.
  const std::string first_checkpoint = "/checkpoints/checkpoint.ckpt";
  const std::string launched = std::string(SSDD_CLI_PATH) + " launch -n 2 -- " +
                               distill_args("ours", two_then_one.path());
  run_and_signal_when_file_appears(launched, two_then_one.path() + first_checkpoint, "-TERM");
  ASSERT_TRUE(std::filesystem::exists(two_then_one.path() + first_checkpoint));
  ASSERT_FALSE(std::filesystem::exists(two_then_one.path() + "/distilled.pt"));
  const auto on_one = run_ssdd(distill_args("ours", two_then_one.path()) + " --resume");
  ASSERT_EQ(on_one.code, 0) << on_one.output;
  EXPECT_TRUE(has(on_one.output, "resumed")) << on_one.output;
  expect_one_process_set("ours", two_then_one.path());

  kill_when_file_appears(std::string(SSDD_CLI_PATH) + " " + distill_args("ours", one_then_two.path()),
                         one_then_two.path() + first_checkpoint);
  const auto on_two = run_ssdd("launch -n 2 -- " + distill_args("ours", one_then_two.path()) + " --resume");
  ASSERT_EQ(on_two.code, 0) << on_two.output;
  EXPECT_TRUE(has(on_two.output, "resumed")) << on_two.output;
  expect_one_process_set("ours", one_then_two.path());
}

TEST_F(DistributedDistill, AKilledRankStopsTheJobNamedAndOneProcessResumesIt) {
  TempDir out;
  const std::string args = distill_args("ours", out.path());
  // Rank 1 is killed (SIGKILL) once the first checkpoint is written; rank 0's next collective fails.
  const std::string rank1 = shell_signal_when_file_appears(std::string(SSDD_CLI_PATH) + " " + args,
                                                          out.path() + "/checkpoints/checkpoint.ckpt", "-9");
  const auto killed = run_ssdd("launch -n 2 --grace 5 -- bash -c 'if [ \"$RANK\" = 1 ]; then " + rank1 +
                               "; else exec " + SSDD_CLI_PATH + " " + args + "; fi'");
  EXPECT_NE(killed.code, 0) << killed.output;
  EXPECT_TRUE(has(killed.output, "ssdd launch: rank 1 exited with code 137")) << killed.output;
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/distilled.pt"));
  const auto resumed = run_ssdd(args + " --resume");
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_TRUE(has(resumed.output, "resumed")) << resumed.output;
  expect_one_process_set("ours", out.path());
}

TEST_F(DistributedDistill, TheRanksComputeTheTeacherRepresentationsInSlicesIntoOneCache) {
  // A copy of the teacher without its cache (the reference runs filled the original's).
  TempDir copy;
  const std::string teacher = copy.path() + "/teacher";
  std::filesystem::copy(dirs_->teacher.path(), teacher, std::filesystem::copy_options::recursive);
  std::filesystem::remove_all(teacher + "/reps");
  TempDir out;
  std::string args = distill_args("ours", out.path());
  args.replace(args.find(dirs_->teacher.path()), dirs_->teacher.path().size(), teacher);
  const auto o = run_ssdd("launch -n 2 -- " + args);
  ASSERT_EQ(o.code, 0) << o.output;
  EXPECT_TRUE(has(o.output, "(256 images, shared among 2 ranks)")) << o.output;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dirs_->teacher.path() + "/reps")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("mnist-train-", 0) != 0) continue;
    const auto one = io::load_tensors(entry.path().string()).at("reps");
    const auto shared = io::load_tensors(teacher + "/reps/" + name).at("reps");
    EXPECT_TRUE(torch::allclose(one, shared, 1e-5, 1e-6)) << name;
    ++files;
  }
  EXPECT_EQ(files, 4);  // rot0, rot90, rot180, rot270
}

TEST_F(DistributedDistill, FewerShardsThanRanksAreRefusedWithNothingWritten) {
  TempDir out;
  const auto o = run_ssdd("launch -n 2 -- " + distill_args("ours", out.path() + "/set", 1));
  EXPECT_NE(o.code, 0) << o.output;
  EXPECT_TRUE(has(o.output, "a job of 2 ranks shares the pool's shards, so it needs at least 2; found 1"))
      << o.output;
  EXPECT_FALSE(std::filesystem::exists(out.path() + "/set"));
}
