// The options of the pool of inner models (SPEC section 2; model_pool.h), apart from the
// pool itself: a distillation config holds them, and the stages above distill/ read configs.
#pragma once
#include <cstdint>
#include <string>

namespace ssdd::distill {

struct PoolOptions {
  std::string arch = "convnet:64-64-64";  // KRR-ST: ConvNet-3 with batch norm
  int64_t size = 10;                      // M
  int64_t max_steps = 1000;               // Z
  double lr = 0.1;
  double momentum = 0.9;
  double weight_decay = 1e-3;
};

}  // namespace ssdd::distill
