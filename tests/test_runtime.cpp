#include <gtest/gtest.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/core/runtime.h"

TEST(Runtime, SetThreadsZeroMeansAllCores) {
  const int n = ssdd::set_threads(0);
  EXPECT_GE(n, 1);
  EXPECT_EQ(torch::get_num_threads(), n);
  EXPECT_EQ(ssdd::set_threads(1), 1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  EXPECT_THROW(ssdd::set_threads(-2), ssdd::ConfigError);
}

TEST(Runtime, ParseDevice) {
  EXPECT_TRUE(ssdd::parse_device("cpu").is_cpu());
  EXPECT_THROW(ssdd::parse_device("tpu"), ssdd::ConfigError);
  if (!torch::cuda::is_available()) {
    EXPECT_THROW(ssdd::parse_device("cuda"), ssdd::ConfigError);
  }
}

TEST(Runtime, SeedingIsReproducible) {
  ssdd::seed_everything(7);
  auto a = torch::randn({5});
  ssdd::seed_everything(7);
  auto b = torch::randn({5});
  EXPECT_TRUE(torch::equal(a, b));
}
