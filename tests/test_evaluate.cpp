#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/data/registry.h"
#include "ssdd/data/views.h"
#include "ssdd/distill/distilled_set.h"
#include "ssdd/evaluate/alignment.h"
#include "ssdd/evaluate/baselines.h"
#include "ssdd/evaluate/finetune.h"
#include "ssdd/evaluate/grid.h"
#include "ssdd/evaluate/pretrain.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/json_file.h"
#include "ssdd/measure/linear_probe.h"
#include "ssdd/measure/similarity.h"
#include "ssdd/models/zoo.h"
#include "ssdd/teacher/representations.h"
#include "ssdd/teacher/teacher.h"
#include "test_util.h"
#include "tiny_data.h"

using namespace ssdd;

TEST(Pretrain, LowersTheRegressionLossOnATinySet) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  const auto x = torch::randn({24, 1, 8, 8}, gen);
  const auto y = torch::randn({24, 6}, gen);
  evaluate::PretrainOptions o;
  o.arch = "convnet:8-8";
  o.schedule.epochs = 60;
  o.schedule.lr = 0.05;
  const auto p = evaluate::pretrain(x, y, o);
  ASSERT_EQ(p.loss.size(), 60u);
  EXPECT_LT(p.loss.back(), 0.5 * p.loss.front());
  EXPECT_FALSE(p.encoder->is_training());
  // The same seed gives the same network: pretraining is reproducible.
  const auto q = evaluate::pretrain(x, y, o);
  EXPECT_DOUBLE_EQ(p.loss.back(), q.loss.back());
  // Saved and loaded weights predict the same.
  TempDir dir;
  evaluate::save_pretrained(dir.path() + "/w.pt", p);
  const auto r = evaluate::load_pretrained(dir.path() + "/w.pt", o.arch, {1, 8, 8}, 6, torch::kCPU);
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(torch::allclose(p.predict(x), r.predict(x)));
  EXPECT_EQ(r.loss, p.loss);
}

// bf16 pretraining: the same run within bf16's rounding of fp32's, yet not fp32's (autocast was
// on), with fp32 weights; an fp32 run's checkpoint is not its to resume.
TEST(Pretrain, Bfloat16TrainsAsFloat32DoesWithinRoundingAndKeepsFloat32Weights) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(2);
  const auto x = torch::randn({40, 3, 8, 8}, gen);
  const auto y = torch::randn({40, 6}, gen);
  evaluate::PretrainOptions o;
  o.arch = "convnet:16-16";
  o.schedule.epochs = 40;
  o.schedule.lr = 0.05;
  const auto fp32 = evaluate::pretrain(x, y, o);
  o.schedule.precision = train::Precision::bfloat16;
  const auto bf16 = evaluate::pretrain(x, y, o);
  ASSERT_EQ(bf16.loss.size(), fp32.loss.size());
  EXPECT_NE(bf16.loss.back(), fp32.loss.back());
  EXPECT_NEAR(bf16.loss.front(), fp32.loss.front(), 0.02 * fp32.loss.front());
  EXPECT_LT(bf16.loss.back(), 0.5 * bf16.loss.front());
  EXPECT_NEAR(bf16.loss.back(), fp32.loss.back(), 0.1 * fp32.loss.front());
  for (const auto& [name, w] : bf16.state()) {
    if (w.is_floating_point()) {  // not the batch counts
      EXPECT_EQ(w.scalar_type(), at::kFloat) << name;
    }
  }
  {
    torch::NoGradGuard no_grad;
    EXPECT_EQ(bf16.predict(x).scalar_type(), at::kFloat);  // used outside the run: fp32, no autocast
  }

  TempDir dir;  // an fp32 run's checkpoint is another run's to the bf16 one: refused, not resumed
  o.checkpoint_dir = dir.path() + "/ckpt";
  o.schedule.precision = train::Precision::float32;
  o.schedule.epochs = 2;
  evaluate::pretrain(x, y, o);
  o.schedule.precision = train::Precision::bfloat16;
  EXPECT_THROW(evaluate::pretrain(x, y, o), ConfigError);
}

TEST(Pretrain, MismatchedTargetsAreAConfigError) {
  evaluate::PretrainOptions o;
  o.arch = "convnet:4";
  EXPECT_THROW(evaluate::pretrain(torch::zeros({4, 1, 8, 8}), torch::zeros({3, 2}), o), ConfigError);
}

TEST(Pretrain, EveryArchitectureRunsPretrainAndProbeOnTinyData) {
  TempDir data, cache;
  const char* old_cache = std::getenv("SSDD_CACHE");
  const std::string restore = old_cache ? old_cache : "";
  setenv("SSDD_CACHE", cache.path().c_str(), 1);
  write_tiny_idx(data.path());
  data::LoadOptions load;
  load.data_dir = data.path();
  const auto splits = data::load_dataset("mnist", load);
  const auto x = data::normalize(splits.train.images.slice(0, 0, 16), splits.norm);
  const auto y = torch::nn::functional::one_hot(splits.train.labels.slice(0, 0, 16), 4).to(torch::kFloat);
  for (const std::string arch : {"convnet:8-8", "resnet18:8", "vgg11:0.125", "alexnet:0.125", "mobilenetv2:0.25"}) {
    SCOPED_TRACE(arch);
    evaluate::PretrainOptions o;
    o.arch = arch;
    o.schedule.epochs = 2;
    o.schedule.batch_size = 8;
    o.schedule.lr = 0.01;
    const auto p = evaluate::pretrain(x, y, o);
    ASSERT_EQ(p.loss.size(), 2u);
    EXPECT_TRUE(std::isfinite(p.loss.back()));
    measure::FeatureFn fn = [&](const at::Tensor& b) { return p.encoder->features(b); };
    const auto train_f = measure::extract_features(fn, splits.train.images, splits.norm, 128, torch::kCPU);
    const auto test_f = measure::extract_features(fn, splits.test.images, splits.norm, 128, torch::kCPU);
    EXPECT_EQ(train_f.size(1), p.encoder->feature_dim());
    measure::ProbeOptions probe;
    probe.epochs = 2;
    const auto r = measure::linear_probe(train_f, splits.train.labels, test_f, splits.test.labels, 4, probe);
    EXPECT_GE(r.test_accuracy, 0.0);
    EXPECT_LE(r.test_accuracy, 1.0);
  }
  if (old_cache) setenv("SSDD_CACHE", restore.c_str(), 1);
  else unsetenv("SSDD_CACHE");
}

TEST(ExtractFeatures, ProgressLinesLeaveTheFeaturesUnchanged) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
  const auto images = torch::randint(0, 256, {10, 1, 4, 4}, gen, torch::kUInt8);
  data::Normalization norm;
  norm.mean = {0.5};
  norm.std = {0.25};
  measure::FeatureFn sum_rows = [](const at::Tensor& x) { return x.flatten(1).sum(1, true); };
  testing::internal::CaptureStderr();
  const auto quiet = measure::extract_features(sum_rows, images, norm, 4, torch::kCPU);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  testing::internal::CaptureStderr();
  const auto shown = measure::extract_features(sum_rows, images, norm, 4, torch::kCPU, "features of test");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(torch::equal(quiet, shown));
  ASSERT_EQ(shown.sizes(), (std::vector<int64_t>{10, 1}));
  // The last line counts every image, with a rate (files and pipes get whole lines).
  EXPECT_NE(err.find("features of test 10/10"), std::string::npos) << err;
  EXPECT_NE(err.find("img/s"), std::string::npos) << err;
}

TEST(Alignment, PerfectPredictionAndCkaInvariances) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(2);
  const auto g = torch::randn({200, 16}, gen);
  EXPECT_NEAR(measure::r_squared(g, g), 1.0, 1e-12);
  EXPECT_NEAR(measure::linear_cka(g, g), 1.0, 1e-9);
  // Predicting the per-dimension mean explains nothing.
  EXPECT_NEAR(measure::r_squared(g.mean(0, true).expand_as(g), g), 0.0, 1e-9);
  // CKA ignores orthogonal transforms and isotropic scaling, and allows other widths.
  const auto q = std::get<0>(torch::linalg_qr(torch::randn({16, 16}, gen, torch::kDouble))).to(torch::kFloat);
  const auto f = g.matmul(torch::randn({16, 16}, gen)) + 0.5 * torch::randn({200, 16}, gen);
  const double base = measure::linear_cka(f, g);
  EXPECT_GT(base, 0.0);
  EXPECT_LT(base, 1.0);
  EXPECT_NEAR(measure::linear_cka(3.5 * f.matmul(q), g), base, 1e-5);
  EXPECT_NEAR(measure::linear_cka(f, 0.1 * g.matmul(q)), base, 1e-5);
  EXPECT_NEAR(measure::linear_cka(g.matmul(q), g), 1.0, 1e-5);
  EXPECT_NEAR(measure::linear_cka(torch::cat({g, torch::zeros({200, 3})}, 1), g), 1.0, 1e-5);
  EXPECT_THROW(measure::r_squared(g, g.slice(0, 0, 10)), Error);
}

TEST(Baselines, KMeansFindsSeparatedClustersOnePerCluster) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(3);
  const int64_t k = 6, per = 30, d = 8;
  const auto centres = 50 * torch::randn({k, d}, gen);
  const auto x = (centres.repeat_interleave(per, 0) + torch::randn({k * per, d}, gen)).contiguous();
  const auto centroids = evaluate::kmeans(x, k, 20, 0);
  const auto picked = evaluate::nearest_distinct(x, centroids);
  ASSERT_EQ(picked.numel(), k);
  std::set<int64_t> clusters;
  for (int64_t i = 0; i < k; ++i) clusters.insert(picked[i].item<int64_t>() / per);
  EXPECT_EQ(static_cast<int64_t>(clusters.size()), k);
}

TEST(Baselines, KMeansPicksDistinctImagesEvenWithDuplicatePoints) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(4);
  // 60 points at only 10 positions; k = 25 > 10 distinct positions.
  const auto x = torch::randn({10, 4}, gen).repeat({6, 1});
  const auto picked = evaluate::nearest_distinct(x, evaluate::kmeans(x, 25, 10, 1));
  const auto sorted = std::get<0>(torch::sort(picked));
  EXPECT_EQ(std::get<0>(torch::unique_consecutive(sorted)).numel(), 25);
  EXPECT_TRUE((picked >= 0).all().item<bool>());
  const auto r = evaluate::random_subset(100, 30, 7);
  EXPECT_EQ(std::get<0>(torch::unique_consecutive(std::get<0>(torch::sort(r)))).numel(), 30);
  EXPECT_TRUE(r.equal(evaluate::random_subset(100, 30, 7)));
  EXPECT_THROW(evaluate::random_subset(10, 11, 0), ConfigError);
}

namespace {

// A tiny teacher on tiny data, trained once for the tests that need real files.
class EvaluateRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dirs_ = new Dirs;
    for (const std::string method : {"random", "kmeans"})
      make_tiny_baseline(*dirs_, parse_choice<evaluate::BaselineMethod>(method, "test", "method"),
                         dirs_->sets.path() + "/" + method);
  }
  static void TearDownTestSuite() { delete dirs_; }

  static std::string set_path(const std::string& method) { return dirs_->sets.path() + "/" + method + "/distilled.pt"; }
  static evaluate::GridConfig grid() {
    evaluate::GridConfig g;
    g.teacher = dirs_->teacher.path();
    g.data_dir = dirs_->data.path();
    g.archs = {"convnet:8-8"};
    g.seeds = 1;
    g.pretrain.epochs = 5;
    g.probe.epochs = 2;
    g.runtime.threads = 2;
    return g;
  }
  struct Dirs : TinyTeacher {
    TempDir sets;
  };
  static Dirs* dirs_;
};
EvaluateRun::Dirs* EvaluateRun::dirs_ = nullptr;

}  // namespace

TEST_F(EvaluateRun, BaselineFilesHoldTeacherTargetsOfDistinctImages) {
  const auto t = teacher::load_teacher(dirs_->teacher.path(), torch::kCPU);
  data::LoadOptions load;
  load.data_dir = dirs_->data.path();
  const auto splits = data::load_dataset("mnist", load);
  const auto reps = teacher::representations(t, "mnist", "train", splits.train.images,
                                                     data::View{}, torch::kCPU);
  for (const std::string method : {"random", "kmeans"}) {
    SCOPED_TRACE(method);
    auto set = distill::DistilledSet::load(set_path(method));
    EXPECT_EQ(set.meta.at("method"), method);
    EXPECT_EQ(set.meta.at("budget"), 12);
    EXPECT_EQ(set.meta.at("data"), "mnist");
    EXPECT_EQ(set.meta.at("teacher_id"), t.id);
    EXPECT_EQ(set.size(), 12);
    const auto idx = set.meta.at("source_indices").get<std::vector<int64_t>>();
    EXPECT_EQ(std::set<int64_t>(idx.begin(), idx.end()).size(), 12u);
    const auto index = torch::tensor(idx, torch::kLong);
    EXPECT_TRUE(torch::allclose(set.view_targets(), reps.index_select(0, index)));
    EXPECT_TRUE(torch::allclose(set.view_images(), data::normalize(splits.train.images.index_select(0, index), splits.norm)));
    EXPECT_TRUE(std::filesystem::exists(dirs_->sets.path() + "/" + method + "/images.png"));
  }
}

TEST_F(EvaluateRun, RandomRotKeepsRandomsImagesAndStoresTheTeachersTargetOfEveryView) {
  TempDir out;
  evaluate::BaselineConfig b;
  b.method = evaluate::BaselineMethod::random_rot;
  b.views = "rot0,rot90,rot180";
  b.teacher = dirs_->teacher.path();
  b.data_dir = dirs_->data.path();
  b.budget = 12;
  b.runtime.threads = 2;
  evaluate::make_baseline(b, out.path());
  auto rot = distill::DistilledSet::load(out.path() + "/distilled.pt");
  const auto random = distill::DistilledSet::load(set_path("random"));
  EXPECT_EQ(rot.meta.at("source_indices"), random.meta.at("source_indices"));  // same seed, same images
  ASSERT_EQ(rot.views(), 3);
  const auto t = teacher::load_teacher(dirs_->teacher.path(), torch::kCPU);
  torch::NoGradGuard no_grad;
  const auto views = rot.view_images();  // 3 x 12 images, view-major
  const auto expected = t.encoder->features(views);
  EXPECT_TRUE(torch::allclose(rot.view_targets(), expected, 1e-4, 1e-5));
  const double image_floats = static_cast<double>(t.shape.channels * t.shape.height * t.shape.width);
  EXPECT_NEAR(rot.storage().image_equivalents(), 12 * (image_floats + 3.0 * t.feature_dim) / image_floats, 1e-9);

  // Storage-equal: targets counted too, so fewer images, still the first of the same draw.
  TempDir equal_out;
  b.count_targets = true;
  evaluate::make_baseline(b, equal_out.path());
  auto equal = distill::DistilledSet::load(equal_out.path() + "/distilled.pt");
  EXPECT_LE(equal.storage().image_equivalents(), 12.0);
  const auto m = evaluate::baseline_images(b, static_cast<int64_t>(image_floats), t.feature_dim);
  EXPECT_EQ(equal.size(), m);
  EXPECT_GT(equal.storage().image_equivalents() + (image_floats + 3.0 * t.feature_dim) / image_floats, 12.0);  // m is the most
  const auto all = random.meta.at("source_indices").get<std::vector<int64_t>>();
  EXPECT_EQ(equal.meta.at("source_indices").get<std::vector<int64_t>>(),
            std::vector<int64_t>(all.begin(), all.begin() + m));
}

TEST(Baselines, StorageEqualImageCountsForCifarAndFashionMnistShapes) {
  evaluate::BaselineConfig b;
  b.budget = 100;
  EXPECT_EQ(evaluate::baseline_images(b, 3072, 128), 100);  // KRR-ST's count: targets free
  b.count_targets = true;
  EXPECT_EQ(evaluate::baseline_images(b, 3072, 128), 96);   // 96 x 3200 <= 307200 < 97 x 3200
  EXPECT_EQ(evaluate::baseline_images(b, 784, 256), 75);    // 75 x 1040 <= 78400 < 76 x 1040
  b.method = evaluate::BaselineMethod::random_rot;                                  // four views' targets per image
  EXPECT_EQ(evaluate::baseline_images(b, 3072, 128), 85);   // 85 x 3584 <= 307200 < 86 x 3584
  b.budget = 1;
  EXPECT_THROW(evaluate::baseline_images(b, 784, 256), ConfigError);
  nlohmann::json bad = b.to_json();
  bad["method"] = "median";
  EXPECT_THROW(evaluate::BaselineConfig::from_json(bad), ConfigError);
  // Defaults stay out of the JSON, so baseline stages made before these options keep their hashes.
  const auto plain = evaluate::BaselineConfig{}.to_json();
  EXPECT_FALSE(plain.contains("views"));
  EXPECT_FALSE(plain.contains("count_targets"));
}

TEST_F(EvaluateRun, RandomBaselineRoundTripsThroughTheGridWithTeacherAndNoneFirst) {
  TempDir out;
  auto g = grid();
  g.distilled = {set_path("random")};
  const auto r = evaluate::run_grid(g, out.path());
  const auto& res = r.results;
  EXPECT_EQ(res.at("rows"), (std::vector<std::string>{"teacher", "none", "random"}));
  EXPECT_EQ(r.cells_run, 3);
  EXPECT_EQ(res.at("records").size(), 3u);
  for (const auto& rec : res.at("records")) {
    const double acc = rec.at("probe_test_accuracy");
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
    EXPECT_EQ(rec.contains("alignment"), rec.at("row") == "random");
  }
  const auto& a = res.at("records").back().at("alignment");
  EXPECT_LE(a.at("r2").get<double>(), 1.0);
  EXPECT_GE(a.at("cka").get<double>(), 0.0);
  EXPECT_LE(a.at("cka").get<double>(), 1.0 + 1e-9);
  for (const char* f : {"results.json", "results.md", "results.svg", "cells.jsonl", "config.json", "log"})
    EXPECT_TRUE(std::filesystem::exists(out.path() + "/" + f)) << f;
  const std::string md = io::read_file(out.path() + "/results.md");
  const auto teacher_at = md.find("| teacher |"), none_at = md.find("| none |"), random_at = md.find("| random |");
  ASSERT_NE(teacher_at, std::string::npos);
  EXPECT_LT(teacher_at, none_at);
  EXPECT_LT(none_at, random_at);
  EXPECT_NE(md.find("Teacher alignment"), std::string::npos);
}

TEST_F(EvaluateRun, ResumeSkipsFinishedCellsAndTableAgreesWithJson) {
  TempDir out;
  auto g = grid();
  g.distilled = {set_path("random"), "km=" + set_path("kmeans")};
  g.teacher_row = false;
  g.none_row = false;
  const auto first = evaluate::run_grid(g, out.path());
  EXPECT_EQ(first.cells_run, 2);
  const std::string cells = out.path() + "/cells.jsonl";
  const auto lines = nonempty_lines(cells);
  ASSERT_EQ(lines.size(), 2u);

  // A rerun computes nothing and gives the same results.
  const auto second = evaluate::run_grid(g, out.path());
  EXPECT_EQ(second.cells_run, 0);
  EXPECT_EQ(second.cells_skipped, 2);
  EXPECT_EQ(nonempty_lines(cells), lines);
  EXPECT_EQ(second.results.at("records"), first.results.at("records"));
  EXPECT_EQ(second.results.at("summary"), first.results.at("summary"));

  // A grid killed mid-write: the last record torn. Only that cell reruns, from the
  // saved weights (no second pretraining), with the same numbers.
  io::write_file_atomic(cells, lines[0] + "\n" + lines[1].substr(0, lines[1].size() / 2));
  const auto third = evaluate::run_grid(g, out.path());
  EXPECT_EQ(third.cells_run, 1);
  EXPECT_EQ(third.results.at("summary"), first.results.at("summary"));
  EXPECT_NE(io::read_file(out.path() + "/log").find("reusing"), std::string::npos);

  // A changed protocol makes new cells instead of reusing the old ones.
  auto g2 = g;
  g2.probe.epochs = 3;
  EXPECT_EQ(evaluate::run_grid(g2, out.path()).cells_run, 2);

  // results.md's main table holds results.json's numbers.
  const auto res = io::parse_json_file(out.path() + "/results.json");
  const std::string md = io::read_file(out.path() + "/results.md");
  const std::regex row_re(R"(\| (\w+) \| ([0-9.]+) ± ([0-9.]+) \|)");
  int matched = 0;
  for (std::sregex_iterator it(md.begin(), md.end(), row_re), end; it != end; ++it) {
    const std::string label = (*it)[1];
    for (const auto& s : res.at("summary"))
      if (s.at("row") == label && s.at("arch") == res.at("archs")[0] && s.at("target") == "mnist") {
        EXPECT_NEAR(std::stod((*it)[2]), 100 * s.at("probe_mean").get<double>(), 0.006) << label;
        EXPECT_NEAR(std::stod((*it)[3]), 100 * s.at("probe_std").get<double>(), 0.006) << label;
        ++matched;
      }
  }
  EXPECT_EQ(matched, 2);  // random and km
}

TEST_F(EvaluateRun, EqualStepsAndTwoProbeProtocolsEachGetTheirTableBesideTheStoredColumn) {
  TempDir out;
  auto g = grid();
  g.distilled = {set_path("random"), "km=" + set_path("kmeans")};
  g.teacher_row = false;
  g.pretrain.steps = 7;  // 12 pairs in one batch: 7 epochs of 1 step (the epochs setting, 5, is ignored)
  g.probe.protocols = {"standardized", "krrst"};
  g.probe.steps = 40;  // KRR-ST's 5,000 would take minutes here
  const auto r = evaluate::run_grid(g, out.path());
  for (const auto& rec : r.results.at("records")) {
    ASSERT_TRUE(rec.contains("probes")) << rec.dump();
    for (const char* protocol : {"standardized", "krrst"}) {
      const double acc = rec.at("probes").at(protocol).at("test_accuracy");
      EXPECT_GE(acc, 0.0);
      EXPECT_LE(acc, 1.0);
    }
    EXPECT_EQ(rec.at("probe_test_accuracy"), rec.at("probes").at("standardized").at("test_accuracy"));
    if (rec.at("kind") == "set") {
      EXPECT_EQ(rec.at("pretrain_steps").get<int64_t>(), 7) << rec.dump();
    }
  }
  // Stored: 12 images + 12 targets of the teacher's d floats, in image-equivalents.
  const auto t = teacher::load_teacher(dirs_->teacher.path(), torch::kCPU);
  const double image_floats = static_cast<double>(t.shape.channels * t.shape.height * t.shape.width);
  const double expected = 12 * (image_floats + static_cast<double>(t.feature_dim)) / image_floats;
  EXPECT_TRUE(r.results.at("row_stored")[0].is_null());  // none
  EXPECT_NEAR(r.results.at("row_stored")[1].get<double>(), expected, 1e-9);
  const std::string md = io::read_file(out.path() + "/results.md");
  EXPECT_NE(md.find("7 SGD steps"), std::string::npos) << md;
  EXPECT_NE(md.find("raw features, 40 SGD steps of batch 512"), std::string::npos) << md;
  EXPECT_NE(md.find("## Linear probe, KRR-ST's protocol"), std::string::npos) << md;
  EXPECT_NE(md.find("## Linear probe, standardised features"), std::string::npos) << md;
  EXPECT_NE(md.find("stored (image-equivalents)"), std::string::npos) << md;
  char stored_text[32];
  std::snprintf(stored_text, sizeof stored_text, "| %.1f |", expected);
  EXPECT_NE(md.find(stored_text), std::string::npos) << md;

  // The defaults leave config.json and stage hashes as they were before these options.
  const auto plain = evaluate::GridConfig{}.to_json();
  EXPECT_FALSE(plain.contains("pretrain_steps"));
  EXPECT_FALSE(plain.contains("pretrain_precision"));
  EXPECT_FALSE(plain.contains("probes"));
  auto bad = grid();
  bad.probe.protocols = {"standardized", "lbfgs"};
  EXPECT_THROW(bad.validate("test"), ConfigError);
  bad.probe.protocols = {"krrst", "krrst"};
  EXPECT_THROW(bad.validate("test"), ConfigError);
  bad.probe.protocols = {};
  EXPECT_THROW(bad.validate("test"), ConfigError);
}

TEST_F(EvaluateRun, SetsGivenUnderOneLabelArePooledAsDistillationSeedsOfOneRow) {
  TempDir second, out;
  evaluate::BaselineConfig b;
  b.teacher = dirs_->teacher.path();
  b.data_dir = dirs_->data.path();
  b.budget = 12;
  b.runtime.seed = 1;  // another draw: the second "distillation seed" of the row
  b.runtime.threads = 2;
  evaluate::make_baseline(b, second.path());
  auto g = grid();
  g.teacher_row = false;
  g.seeds = 2;
  g.distilled = {"rnd=" + set_path("random"), "rnd=" + second.path() + "/distilled.pt"};
  const auto r = evaluate::run_grid(g, out.path());
  EXPECT_EQ(r.results.at("rows"), (std::vector<std::string>{"none", "rnd"}));
  EXPECT_EQ(r.results.at("row_sets"), (nlohmann::json{0, 2}));
  EXPECT_EQ(r.cells_run, 2 + 4);  // none x 2 seeds, 2 sets x 2 seeds
  std::vector<double> accuracies;
  std::set<int64_t> replicates;
  for (const auto& rec : r.results.at("records"))
    if (rec.at("row") == "rnd") {
      accuracies.push_back(rec.at("probe_test_accuracy"));
      replicates.insert(rec.at("replicate").get<int64_t>());
    }
  EXPECT_EQ(replicates, (std::set<int64_t>{0, 1}));
  for (const auto& summary : r.results.at("summary"))
    if (summary.at("row") == "rnd") {
      EXPECT_EQ(summary.at("n"), 4);
      EXPECT_NEAR(summary.at("probe_mean").get<double>(), evaluate::mean_std(accuracies).first, 1e-12);
    }
  EXPECT_NE(io::read_file(out.path() + "/results.md").find("distillation seeds"), std::string::npos);
  // A label over sets of different methods is refused, naming both.
  g.distilled = {"x=" + set_path("random"), "x=" + set_path("kmeans")};
  TempDir other;
  try {
    evaluate::run_grid(g, other.path());
    FAIL() << "mixed methods under one label were accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("random, kmeans"), std::string::npos) << e.what();
  }
}

TEST_F(EvaluateRun, CommandLineMakesABaselineAndEvaluatesIt) {
  const std::string cli = SSDD_CLI_PATH;
  if (cli.empty()) GTEST_SKIP() << "the ssdd executable is not built";
  TempDir out;
  const std::string common = " --teacher " + dirs_->teacher.path() + " --data-dir " + dirs_->data.path() + " --threads 2";
  auto o = run_ssdd("baseline kmeans --budget 8 --out " + out.path() + "/km" + common);
  ASSERT_EQ(o.code, 0) << o.output;
  o = run_ssdd("evaluate --preset quick --arch convnet:4-4,convnet:8 --seeds 2 --pretrain-epochs 2 --probe-epochs 1"
               " --finetune true --finetune-epochs 1 --finetune-lr 0.02 --distilled " + out.path() + "/km/distilled.pt --out " +
               out.path() + "/grid" + common);
  ASSERT_EQ(o.code, 0) << o.output;
  const auto res = io::parse_json_file(out.path() + "/grid/results.json");
  EXPECT_EQ(res.at("archs").size(), 2u);
  // teacher: 2 seeds; none and kmeans: 2 archs x 2 seeds
  EXPECT_EQ(res.at("records").size(), 10u);
  for (const auto& rec : res.at("records")) EXPECT_TRUE(rec.contains("finetune")) << rec.dump();
  EXPECT_EQ(res.at("protocol").at("finetune_epochs"), 1);
  EXPECT_DOUBLE_EQ(res.at("protocol").at("finetune_lr").get<double>(), 0.02);
  EXPECT_NE(io::read_file(out.path() + "/grid/results.md").find("Cross-architecture"), std::string::npos);
  EXPECT_NE(std::system((cli + " evaluate --out " + out.path() + "/bad --distilled " + out.path() +
                         "/km/distilled.pt --teacher " + dirs_->teacher.path() + " --seeds 0 >/dev/null 2>&1")
                            .c_str()),
            0);
}

TEST_F(EvaluateRun, FinetuneTrainsTheEncoderInPlaceAndScoresTheTestSplit) {
  data::LoadOptions load;
  load.data_dir = dirs_->data.path();
  const auto splits = data::load_dataset("mnist", load);
  torch::manual_seed(0);
  auto encoder = models::make_encoder_from_spec("convnet:8-8", {1, 16, 16});
  const at::Tensor before = encoder->parameters().front().clone();
  evaluate::FinetuneOptions o;
  o.epochs = 8;
  o.batch_size = 32;
  o.lr = 0.05;
  const auto r = evaluate::finetune(encoder, splits.train, splits.test, splits.norm, o);
  EXPECT_FALSE(torch::equal(before, encoder->parameters().front()));  // trained in place
  EXPECT_GT(r.train_accuracy, 0.5);  // 4 classes in the tiny data: chance is 0.25
  EXPECT_GE(r.test_accuracy, 0.0);
  EXPECT_LE(r.test_accuracy, 1.0);
  EXPECT_TRUE(std::isfinite(r.final_loss));
  o.epochs = 0;
  EXPECT_THROW(evaluate::finetune(encoder, splits.train, splits.test, splits.norm, o), ConfigError);
  data::ImageSet unlabelled = splits.train;
  unlabelled.labels = at::Tensor();
  o.epochs = 1;
  EXPECT_THROW(evaluate::finetune(encoder, unlabelled, splits.test, splits.norm, o), ConfigError);
}

TEST_F(EvaluateRun, FinetuneAddsItsOwnTableAndLeavesLinearCellsAlone) {
  TempDir out;
  auto g = grid();
  g.distilled = {set_path("random")};
  EXPECT_EQ(evaluate::run_grid(g, out.path()).cells_run, 3);
  g.finetune.enabled = true;
  g.finetune.epochs = 2;
  const auto tuned = evaluate::run_grid(g, out.path());
  EXPECT_EQ(tuned.cells_run, 3);  // new cells: the protocol is part of their key
  for (const auto& rec : tuned.results.at("records")) {
    ASSERT_TRUE(rec.contains("finetune")) << rec.dump();
    const double acc = rec.at("finetune").at("test_accuracy");
    EXPECT_GE(acc, 0.0);
    EXPECT_LE(acc, 1.0);
  }
  const std::string md = io::read_file(out.path() + "/results.md");
  EXPECT_NE(md.find("## Full fine-tuning, convnet:8-8"), std::string::npos) << md;
  EXPECT_NE(md.find("full fine-tuning of the network"), std::string::npos) << md;
  g.finetune.enabled = false;  // the linear-only cells are still there, under their old keys
  EXPECT_EQ(evaluate::run_grid(g, out.path()).cells_run, 0);
}

TEST_F(EvaluateRun, Bfloat16PretrainingHasCellsAndWeightsOfItsOwnAndTheTableSaysSo) {
  TempDir out;
  auto g = grid();
  g.distilled = {set_path("random")};
  g.teacher_row = g.none_row = false;
  EXPECT_EQ(evaluate::run_grid(g, out.path()).cells_run, 1);
  g.pretrain.precision = train::Precision::bfloat16;
  EXPECT_EQ(evaluate::run_grid(g, out.path()).cells_run, 1);  // not the fp32 cell, nor its weights
  int weights = 0;
  for (const auto& entry : std::filesystem::directory_iterator(out.path() + "/models"))
    weights += entry.path().extension() == ".pt";
  EXPECT_EQ(weights, 2);
  std::vector<double> final_losses;  // the bf16 cell was trained in bf16, not only named so
  std::istringstream cells(io::read_file(out.path() + "/cells.jsonl"));
  for (std::string line; std::getline(cells, line);)
    final_losses.push_back(nlohmann::json::parse(line).at("pretrain_final_loss").get<double>());
  ASSERT_EQ(final_losses.size(), 2u);
  EXPECT_NE(final_losses[0], final_losses[1]);
  const std::string md = io::read_file(out.path() + "/results.md");
  EXPECT_NE(md.find("the forward in bfloat16 under autocast"), std::string::npos) << md;
  g.pretrain.precision = train::Precision::float32;  // the fp32 cell is still there
  EXPECT_EQ(evaluate::run_grid(g, out.path()).cells_run, 0);
  EXPECT_EQ(io::read_file(out.path() + "/results.md").find("bfloat16"), std::string::npos);
}
