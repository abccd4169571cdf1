#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>

#include "ssdd/core/bench_stats.h"
#include "ssdd/core/error.h"
#include "ssdd/distill/step_bench.h"
#include "ssdd/distill/step_cost.h"
#include "ssdd/evaluate/cell_bench.h"
#include "ssdd/teacher/step_bench.h"

using namespace ssdd;

TEST(StepCost, MatchesTheHandCountOfTheIssuesShapes) {
  distill::StepShape small;  // m 100, n 256, 28x28x1, ConvNet 64-64-64, T 1, d 512
  // Per image: 2 * 9 * (28*28*1*64 + 14*14*64*64 + 7*7*64*64) = 18,966,528 FLOPs.
  EXPECT_DOUBLE_EQ(distill::convnet_forward_flops(small), 18966528.0);
  const auto f = distill::step_flops(small);
  EXPECT_DOUBLE_EQ(f.real_forward, 256 * 18966528.0);
  EXPECT_DOUBLE_EQ(f.distilled_outer, 2 * 100 * 18966528.0);
  // p = 64*3*3 + 1 = 577; 3 F s + 6 s p d.
  EXPECT_DOUBLE_EQ(f.inner, 3 * 100 * 18966528.0 + 6.0 * 100 * 577 * 512);
  EXPECT_NEAR(f.total() / 1e9, 14.75, 0.01);  // "about 14 GFLOP" (issue 9)

  distill::StepShape paper;  // the paper's CIFAR shapes with a CPU real batch
  paper.channels = 3, paper.height = paper.width = 32, paper.widths = {128, 256, 512}, paper.views = 4;
  EXPECT_NEAR(distill::step_flops(paper).total() / 1e12, 0.9745, 0.001);  // "about 0.93 TFLOP"
  paper.widths.clear();
  EXPECT_THROW(distill::step_flops(paper), ConfigError);
}

TEST(StepBench, TimesTheProductionStepAndReportsEveryFigure) {
  distill::StepBenchOptions o;
  o.shape.distilled = 6;
  o.shape.real = 8;
  o.shape.views = 2;
  o.shape.height = o.shape.width = 8;
  o.shape.widths = {4, 4};
  o.shape.rep_dim = 5;
  o.iterations = 3;
  o.warmup = 1;
  o.phases = true;
  o.matmul_size = 64;
  o.runtime.threads = 1;
  const auto r = distill::run_step_bench(o);
  ASSERT_EQ(r.seconds.size(), 3u);
  EXPECT_GT(r.median_seconds, 0);
  EXPECT_GT(r.matmul_gflops_per_second, 0);
  EXPECT_GT(r.peak_rss_mib, 1);
  EXPECT_NEAR(r.gflops_per_second, r.flops.total() / r.median_seconds / 1e9, 1e-9);
  const auto j = r.to_json();
  for (const char* k : {"real_forward", "distilled_forward", "regression", "backward_update", "inner_step"})
    EXPECT_GE(j["phases_s"][k].get<double>(), 0) << k;
  EXPECT_EQ(j["settings"]["rotations"], 2);
  const std::string row = r.markdown_row();
  EXPECT_EQ(row.rfind("| 6, 8, 8x8x1, 4-4, 2, 5 | 1 | cpu |", 0), 0u) << row;
  o.shape.views = 5;
  EXPECT_THROW(distill::run_step_bench(o), ConfigError);
}

namespace {

// The quick preset's step on a batch of 6 images of 12x12, one thread.
teacher::TeacherBenchOptions tiny_teacher_bench(int64_t channels, int64_t iterations, int64_t warmup) {
  teacher::TeacherBenchOptions o;
  o.config = teacher::teacher_preset("quick");
  o.config.batch_size = 6;
  o.channels = channels;
  o.size = 12;
  o.iterations = iterations;
  o.warmup = warmup;
  o.runtime.threads = 1;
  return o;
}

}  // namespace

TEST(TeacherStepBench, PhasesTimeEveryPieceOfTheStep) {
  auto o = tiny_teacher_bench(1, 2, 0);
  o.phases = true;
  const auto r = teacher::run_teacher_bench(o);
  const auto j = r.to_json();
  ASSERT_TRUE(j.contains("phases"));
  for (const char* name : teacher::TeacherBenchResult::kPhaseNames)
    EXPECT_GT(j["phases"].at(name).get<double>(), 0) << name;
  EXPECT_EQ(j["phases"].size(), std::size(teacher::TeacherBenchResult::kPhaseNames));
  EXPECT_EQ(r.step_seconds.size(), 2u);  // the phase pass adds none to the step's figures
}

TEST(TeacherStepBench, TimesTheViewsAndTheStepApartAndReportsEveryFigure) {
  auto o = tiny_teacher_bench(3, 3, 1);
  const auto r = teacher::run_teacher_bench(o);
  ASSERT_EQ(r.step_seconds.size(), 3u);
  ASSERT_EQ(r.augment_seconds.size(), 3u);
  EXPECT_GT(r.median_step, 0);
  EXPECT_GT(r.median_augment, 0);
  // The median of the sums lies between the sum of the smallest and of the largest parts.
  const auto [step_low, step_high] = std::minmax_element(r.step_seconds.begin(), r.step_seconds.end());
  const auto [aug_low, aug_high] = std::minmax_element(r.augment_seconds.begin(), r.augment_seconds.end());
  EXPECT_GE(r.median_total, *step_low + *aug_low);
  EXPECT_LE(r.median_total, *step_high + *aug_high);
  EXPECT_DOUBLE_EQ(r.images_per_second(r.median_step), 6 / r.median_step);
  const auto j = r.to_json();
  EXPECT_EQ(j["settings"]["arch"], o.config.arch);
  EXPECT_EQ(j["settings"]["channels"], 3);
  EXPECT_EQ(j["step_seconds"].size(), 3u);
  EXPECT_DOUBLE_EQ(j["images_per_s_with_augmentation"].get<double>(), 6 / r.median_total);
  EXPECT_FALSE(j.contains("phases"));  // a second pass only when asked for
  o.channels = 2;
  EXPECT_THROW(teacher::run_teacher_bench(o), ConfigError);
  o.channels = 1;
  o.config.batch_size = 1;  // Barlow Twins standardises over the batch
  EXPECT_THROW(teacher::run_teacher_bench(o), ConfigError);
}

TEST(GridCellBench, APretrainingCellCountsItsStepsAndLearns) {
  evaluate::PretrainBenchOptions o;
  o.arch = "convnet:8-8";
  o.pairs = 40;
  o.size = 8;
  o.dim = 4;
  o.epochs = 30;
  o.batch = 16;  // 3 steps an epoch, the last one of 8 pairs
  o.runtime.threads = 1;
  const auto r = evaluate::run_pretrain_bench(o);
  EXPECT_EQ(r.steps, 90);
  EXPECT_GT(r.seconds, 0);
  EXPECT_DOUBLE_EQ(r.seconds_per_step, r.seconds / 90);
  EXPECT_LT(r.final_loss, 0.8 * r.first_loss);  // it regresses its targets
  EXPECT_EQ(r.to_json()["steps"], 90);
  // By hand: multiply-adds 8*8*1*8*9 + 4*4*8*8*9 = 13,824 per image (F = 27,648 FLOPs); three
  // passes plus the head's 6 * 32 features * 4 = 768; 1,200 pairs seen.
  EXPECT_NEAR(r.gflop, (3 * 27648.0 + 768) * 1200 / 1e9, 1e-12);
  o.pairs = 0;
  EXPECT_THROW(evaluate::run_pretrain_bench(o), ConfigError);
}

TEST(GridCellBench, AProbeLearnsTheSyntheticLabelsFarAboveChance) {
  evaluate::ProbeBenchOptions o;
  o.train = 2000;
  o.test = 500;
  o.features = 16;
  o.classes = 4;
  o.epochs = 5;
  o.runtime.threads = 1;
  const auto r = evaluate::run_probe_bench(o);
  EXPECT_GT(r.test_accuracy, 0.7);  // chance is 0.25; the labels are linear in the features
  EXPECT_GT(r.seconds, 0);
  EXPECT_DOUBLE_EQ(r.seconds_per_epoch, r.seconds / 5);
  EXPECT_EQ(r.to_json()["settings"]["features"], 16);
  o.classes = 1;
  EXPECT_THROW(evaluate::run_probe_bench(o), ConfigError);
}

TEST(BenchStats, TheMedianOfOddAndEvenCountsAndOfNone) {
  EXPECT_DOUBLE_EQ(median({3.0, 1.0, 2.0}), 2.0);
  EXPECT_DOUBLE_EQ(median({4.0, 1.0, 3.0, 2.0}), 2.5);
  EXPECT_DOUBLE_EQ(median({}), 0.0);
  EXPECT_GT(peak_rss_mib(), 1.0);
}
