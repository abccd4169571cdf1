// Peak memory of a distillation run (measure/memory.h counts and checks it): checked before
// the run's large allocations and by `ssdd bench`.
#pragma once
#include <cstdint>
#include <string>

#include "ssdd/measure/memory.h"
#include "ssdd/models/image_shape.h"

namespace ssdd::distill {

struct DistillConfig;

// One distillation run (or `ssdd bench`: train_images 0, pool_size 1).
struct DistillShape {
  models::ImageShape image;
  int64_t train_images = 0;  // n of the source train split (teacher representations)
  int64_t views = 1;         // T (krrst: 1)
  int64_t distilled = 0;     // m
  int64_t real_batch = 0;    // real images per step, before views
  int64_t rep_dim = 0;       // d
  int64_t pool_size = 1;     // M
  int64_t pca_images = 0;    // ours: real images the bases are fitted on
  std::string pool_arch = "convnet:64-64-64";
  bool krr_float64 = false;  // kernels, factor and solve in double (krr_precision)
  std::string images_flag = "--budget", batch_flag = "--real-batch";  // named by the advice
};
measure::MemoryEstimate distill_memory(const DistillShape& shape, const std::string& stage = "distill");
// The shape of a run of `config` on `train_images` source images of `image`, teacher dimension `rep_dim`.
DistillShape distill_shape(const DistillConfig& config, const models::ImageShape& image, int64_t train_images,
                           int64_t rep_dim);

}  // namespace ssdd::distill
