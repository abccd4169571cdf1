// Peak memory of an evaluation cell of the grid and of the k-means baseline (measure/memory.h
// counts and checks it), checked before a target's first cell and before k-means.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ssdd/measure/memory.h"
#include "ssdd/models/image_shape.h"

namespace ssdd::evaluate {

// One evaluation cell of the grid, for the largest of `archs`.
struct EvaluationShape {
  models::ImageShape image;
  int64_t train_images = 0, test_images = 0;  // of the target, as probed
  int64_t set_images = 0;                     // the largest distilled set's images x views
  int64_t pretrain_batch = 256;
  int64_t finetune_batch = 0;  // 0: no fine-tuning
  int64_t rep_dim = 0;
};
measure::MemoryEstimate evaluation_memory(const EvaluationShape& shape, const std::vector<std::string>& archs);

// k-means baseline: k centroids on n points of dimension d (double precision, CPU).
measure::MemoryEstimate kmeans_memory(int64_t n, int64_t d, int64_t k);

}  // namespace ssdd::evaluate
