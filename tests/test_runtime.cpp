#include <dlfcn.h>

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

TEST(Runtime, SetThreadsKeepsOpenBlasAtOneThread) {
  using GetBlasThreads = int (*)();
  auto get_blas = reinterpret_cast<GetBlasThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  if (!get_blas) GTEST_SKIP() << "LibTorch's BLAS here is not OpenBLAS";
  ssdd::set_threads(2);
  EXPECT_EQ(torch::get_num_threads(), 2);
  EXPECT_EQ(get_blas(), 1);  // its own pool would spin on the cores of LibTorch's threads
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

TEST(Runtime, FlushedSubnormalsAreZeroInTheMatrixProductsWorkerThreadsToo) {
  ssdd::set_threads(1);  // ATen's own arithmetic on this thread, whatever ran before
  // 1e-39 is subnormal in float; a sum of 512 of them (5e-37) is not, so a thread that kept
  // subnormals writes a non-zero entry. 512^3 is large enough for OpenBLAS to split.
  const auto tiny = torch::full({512, 512}, 1e-39f);
  const auto ones = torch::ones({512, 512});
  ASSERT_TRUE(ssdd::flush_denormals()) << "this CPU has no flush-to-zero mode";
  EXPECT_EQ(tiny.mm(ones).abs().max().item<float>(), 0.0f);
  EXPECT_EQ((tiny * 2).abs().max().item<float>(), 0.0f);
}
