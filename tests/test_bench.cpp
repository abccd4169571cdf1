#include <gtest/gtest.h>

#include "ssdd/core/error.h"
#include "ssdd/distill/step_bench.h"
#include "ssdd/distill/step_cost.h"

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
  o.threads = 1;
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
