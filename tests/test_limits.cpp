// Issue 27, class 5: options and inputs that would exhaust the machine are refused at once,
// with one line. Every CLI call runs under `timeout`, so a hang reads as exit 124 and a
// crash as 128 + its signal, never as a stuck test.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/distill/memory_estimate.h"
#include "ssdd/evaluate/evaluation_memory.h"
#include "ssdd/experiment/experiment_config.h"
#include "ssdd/measure/memory.h"
#include "ssdd/models/zoo.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;

namespace {

bool says(const CliOutcome& o, const std::string& text) { return o.output.find(text) != std::string::npos; }

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

class Limits : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  }
  // `ssdd args` with `env` (e.g. "SSDD_MEMORY_LIMIT=2"), killed after `seconds`: a hang
  // reads as exit 124, a crash as 128 + its signal.
  CliOutcome run_limited(const std::string& args, const std::string& env = "", int seconds = 10) {
    const std::string log = dir.path() + "/cli-output";
    const int status = std::system(("env " + env + " timeout " + std::to_string(seconds) + " " + SSDD_CLI_PATH + " " +
                                    args + " >" + log + " 2>&1 </dev/null").c_str());
    CliOutcome o;
    o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(log);
    o.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return o;
  }
  TempDir dir;
};

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

}  // namespace

TEST_F(Limits, CountsOutOfRangeAreRefusedNamingTheKeyFromFlagsAndConfigs) {
  const std::string distill =
      "distill --preset quick --teacher " + dir.path() + "/no-teacher --out " + dir.path() + "/d";
  for (const char* budget : {"0", "-1"}) {
    const auto o = run_limited(distill + " --budget " + budget);
    EXPECT_EQ(o.code, 1) << o.output;
    EXPECT_TRUE(says(o, "'budget' must be at least 1, found " + std::string(budget))) << o.output;
  }
  auto o = run_limited(distill + " --budget abc");
  EXPECT_EQ(o.code, 2) << o.output;
  EXPECT_TRUE(says(o, "--budget")) << o.output;
  // The same keys in config files, JSON and TOML.
  write_text(dir.path() + "/distill.json", R"({"teacher": "t", "budget": 0})");
  o = run_limited("distill --config " + dir.path() + "/distill.json --out " + dir.path() + "/d");
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_TRUE(says(o, "'budget' must be at least 1, found 0")) << o.output;
  write_text(dir.path() + "/run.toml", "name = \"x\"\ndata = \"mnist\"\nbudget = -1\n");
  o = run_limited("run " + dir.path() + "/run.toml --dry-run --out " + dir.path() + "/r");
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_TRUE(says(o, "'budget' must be at least 1, found -1")) << o.output;
  // Other commands' counts.
}

TEST(LimitsConfig, EveryStageConfigRangeChecksItsCounts) {
  auto error_of = [](const std::function<void()>& parse) {
    try {
      parse();
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of([] { evaluate::BaselineConfig::from_json({{"budget", 0}}, "b.json"); }),
            "b.json: 'budget' must be at least 1, found 0");
  EXPECT_EQ(error_of([] { evaluate::GridConfig::from_json({{"seeds", -2}}, "g.json"); }),
            "g.json: 'seeds' must be at least 1, found -2");
  EXPECT_EQ(error_of([] { teacher::TeacherConfig::from_json({{"epochs", -3}}, "t.json"); }),
            "t.json: 'epochs' must be at least 1, found -3");
  EXPECT_EQ(error_of([] { distill::DistillConfig::from_json({{"pool", {{"size", 0}}}}, "d.json"); }),
            "d.json: 'pool.size' must be at least 1, found 0");
  EXPECT_NE(error_of([] { distill::DistillConfig::from_json({{"threads", 10000}}, "d.json"); }).find("found 10000"),
            std::string::npos);
  EXPECT_EQ(error_of([] { distill::DistillConfig::from_json({{"budget", 7}}, "d.json"); }), "no error");
}

TEST_F(Limits, TenThousandThreadsAreRefusedAtOnce) {
  for (const std::string& args : std::vector<std::string>{
           "probe --encoder pixels --data mnist --data-dir " + dir.path() + " --threads 10000",
        "distill --preset quick --teacher t --out " + dir.path() + "/d --threads 10000",
        "run quick --dry-run --threads 10000 --out " + dir.path() + "/r"}) {
    const auto o = run_limited(args);
    EXPECT_EQ(o.code, 1) << args << "\n" << o.output;
    EXPECT_TRUE(says(o, "'threads' must be 0 (all cores) or 1 to")) << args << "\n" << o.output;
    EXPECT_TRUE(says(o, "found 10000")) << o.output;
  }
}

TEST_F(Limits, NonRegularFilesAsConfigsOrSetsFailAtOnce) {
  const std::string fifo = dir.path() + "/config.toml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening a FIFO blocks until a writer comes, /dev/zero never ends: exit 124 (timeout)
  // or a memory blow-up before the fix, one line and exit 1 after.
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"run /dev/zero", "not a regular file"},
      {"distill --config " + fifo + " --out " + dir.path() + "/d", "found a FIFO"},
      {"inspect " + fifo, "found a FIFO"},
      {"inspect /dev/zero", "found a character device"}};
  for (const auto& [args, reason] : refused) {
    const auto o = run_limited(args);
    EXPECT_EQ(o.code, 1) << args << "\n" << o.output;
    EXPECT_TRUE(says(o, reason)) << args << "\n" << o.output;
  }
}

TEST_F(Limits, DeeplyNestedConfigsAreRefusedWithoutACrash) {
  const int depth = 100000;
  write_text(dir.path() + "/deep.json", std::string(depth, '[') + std::string(depth, ']'));
  write_text(dir.path() + "/deep-key.json", "{\"budget\": " + std::string(depth, '[') + std::string(depth, ']') + "}");
  for (const std::string& args : std::vector<std::string>{
           "distill --config " + dir.path() + "/deep-key.json --out " + dir.path() + "/d",
           "run " + dir.path() + "/deep.json --dry-run --out " + dir.path() + "/r"}) {
    const auto o = run_limited(args);
    EXPECT_EQ(o.code, 1) << args << "\n" << o.output.substr(0, 500);  // a SIGSEGV reads as 139
    EXPECT_TRUE(says(o, "nested at most 64 levels deep")) << o.output.substr(0, 500);
  }
  std::string key = "a";
  for (int i = 0; i < depth; ++i) key += ".a";
  write_text(dir.path() + "/deep.toml", "name = \"x\"\n[" + key + "]\nx = 1\n");
  const auto o = run_limited("run " + dir.path() + "/deep.toml --dry-run --out " + dir.path() + "/r");
  EXPECT_EQ(o.code, 1) << o.output.substr(0, 500);
  EXPECT_TRUE(says(o, "dotted parts")) << o.output.substr(0, 500);
}

TEST_F(Limits, RunsTooLargeForTheMachineAreRefusedByTheMemoryEstimate) {
  TinyTeacher tiny;  // 256 training images of 1x16x16, a 16-d teacher
  const std::string distill = "distill --preset quick --teacher " + tiny.teacher.path() + " --data mnist --data-dir " +
                              tiny.data.path() + " --out " + dir.path() + "/d";
  // A pool of 100,000 models is out of range at once (at most 1,000); 1,000 wide ConvNets
  // (some 350 GiB) are refused by the estimate before the first one is built.
  auto o = run_limited(distill + " --budget 10 --pool-size 100000", "", 60);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_TRUE(says(o, "'pool.size' must be at most 1000")) << o.output;
  o = run_limited(distill + " --budget 10 --pool-size 1000 --pool-arch convnet:1024-1024-1024", "SSDD_MEMORY_LIMIT=4",
                  60);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_TRUE(says(o, "pool 1000 models")) << o.output;
  EXPECT_TRUE(says(o, "4.0 GiB available; lower --pool-size")) << o.output;
  // A krrst budget beyond the training set, named with both numbers before any work.
  o = run_limited(distill + " --method krrst --budget 300", "", 60);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_TRUE(says(o, "krrst budget of 300 images exceeds the 256 images")) << o.output;
  // An `ours` budget that buys more images than the source has (tiny bases).
  o = run_limited(distill + " --budget 400 --image-bases 1 --rep-bases 1", "", 60);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_TRUE(says(o, "of the source's training set")) << o.output;
  // The step benchmark at m = 100,000: a 100,000 x 100,000 kernel.
  o = run_limited("bench --m 100000 --iters 1 --warmup 0", "SSDD_MEMORY_LIMIT=16", 30);
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_TRUE(says(o, "kernel 100000x100000")) << o.output;
  EXPECT_TRUE(says(o, "lower --m")) << o.output;
}

TEST(LimitsEstimate, ShippedCpuConfigsFitA24GiBMachine) {
  struct Source {
    models::ImageShape image;
    int64_t train, test;
  };
  auto source_of = [](const std::string& data) {
    if (data.rfind("cifar", 0) == 0) return Source{{3, 32, 32}, 50000, 10000};
    return Source{{1, 28, 28}, 60000, 10000};  // fashion-mnist, mnist
  };
  for (const auto& name : experiment::builtin_experiments()) {
    const auto config = experiment::builtin_experiment(name);
    if (config.teacher.config.runtime.device != "cpu") continue;  // GPU memory is not checked (the paper's configs)
    const Source source = source_of(config.teacher.config.data);
    const int64_t d = models::make_encoder_from_spec(config.teacher.config.arch, source.image)->feature_dim();
    int64_t largest_set = 0;
    for (const auto& stage : config.distill) {
      const auto shape = distill::distill_shape(stage.config, source.image, source.train, d);
      largest_set = std::max(largest_set, shape.distilled * shape.views);
      const auto estimate = distill::distill_memory(shape);
      EXPECT_LT(estimate.total(), 20 * kGiB) << name << " " << stage.label << ": " << estimate.describe();
    }
    for (const auto& grid : config.grids) {
      evaluate::EvaluationShape cell;
      cell.image = source.image;
      cell.train_images = grid.config.probe.max_train > 0 ? grid.config.probe.max_train : source.train;
      cell.test_images = source.test;
      cell.set_images = largest_set;
      cell.pretrain_batch = grid.config.pretrain.batch_size;
      cell.finetune_batch = grid.config.finetune.enabled ? 256 : 0;
      cell.rep_dim = d;
      const auto estimate = evaluate::evaluation_memory(cell, grid.config.archs);
      EXPECT_LT(estimate.total(), 20 * kGiB) << name << " " << grid.name << ": " << estimate.describe();
    }
  }
}

TEST(LimitsEstimate, MeasuringANetworkLeavesTheSeededGeneratorAlone) {
  torch::manual_seed(7);
  const double first = torch::rand({1}).item<double>();
  torch::manual_seed(7);
  const auto net = measure::measure_network("convnet:8-8", {1, 16, 16});
  EXPECT_EQ(torch::rand({1}).item<double>(), first);
  EXPECT_GT(net.parameters, 0);
  EXPECT_GT(net.activation_bytes, 4.0 * 16 * 16);  // more than its input
}
