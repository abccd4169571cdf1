// The row kernels of the fused ConvNet block tails and what they share, used by
// models/norm_relu_pool.cpp (the tail over a convolution's stored output) and
// models/one_channel_block.cpp (the first block's convolution recomputed row by row, never
// stored). Internal to models/.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

#include "ssdd/core/cpu_clones.h"

namespace ssdd::models {
class SyncBatchNormImplBase;
}

namespace ssdd::models::block_tail {

constexpr auto kChannelsLast = at::MemoryFormat::ChannelsLast;

// A channels-last map as it lies in memory: n x h x w x c floats.
struct Map {
  int64_t n, h, w, c;
  int64_t pooled_h() const { return h / 2; }  // floor, as avg_pool2d(2, 2)
  int64_t pooled_w() const { return w / 2; }
  int64_t pixels() const { return n * h * w; }
};

// A pooled map of `m`'s channels-last layout.
at::Tensor empty_pooled(const Map& m, const at::TensorOptions& options);
std::vector<float> floats(const at::Tensor& t);

// body(chunk, begin, end) over [0, total) split into one chunk per thread: partial sums kept per
// chunk and added in chunk order give the same result on every run at a given thread count.
template <class Body>
int64_t for_chunks(int64_t total, const Body& body) {
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), total));
  at::parallel_for(0, chunks, 1, [&](int64_t first, int64_t last) {
    for (int64_t k = first; k < last; ++k) body(k, total * k / chunks, total * (k + 1) / chunks);
  });
  return chunks;
}

// `count` per-channel sums, reduced over chunks in order.
struct ChannelSums {
  std::vector<std::vector<double>> of;
  const std::vector<double>& first() const { return of[0]; }
  const std::vector<double>& second() const { return of[1]; }
};

// body(begin, end, sums) adds into sums[i * channels + c] for i < count.
template <class Body>
ChannelSums channel_sums(int64_t total, int64_t channels, int64_t count, const Body& body) {
  const int64_t most = std::max<int64_t>(1, at::get_num_threads());
  const int64_t width = count * channels;
  std::vector<double> part(static_cast<size_t>(most * width), 0.0);
  const int64_t chunks = for_chunks(total, [&](int64_t k, int64_t begin, int64_t end) {
    body(begin, end, &part[static_cast<size_t>(k * width)]);
  });
  ChannelSums s{std::vector<std::vector<double>>(static_cast<size_t>(count), std::vector<double>(channels, 0.0))};
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t i = 0; i < count; ++i)
      for (int64_t c = 0; c < channels; ++c) s.of[i][c] += part[static_cast<size_t>(k * width + i * channels + c)];
  return s;
}

// Adds a row's float partial sums into a chunk's double ones and clears them: a row holds at
// most a few hundred pixels, so float is exact enough there.
inline void fold_row(std::vector<float>& row, double* chunk) {
  for (size_t i = 0; i < row.size(); ++i) chunk[i] += row[i];
  std::fill(row.begin(), row.end(), 0.0f);
}

// What the kernels need per channel. Forward: relu(x * scale + shift). Backward: dz (the gradient
// reaching the norm's output) is a quarter of the pooled gradient where the pool keeps the pixel
// and x * scale + shift > 0, else 0; the input's gradient is coef * (dz - a - xhat * b) with
// xhat = (x - mean) * invstd, computed as coef * dz + offset + slope * x. Plain ReLU + pool:
// scale 1, shift 0, coef 1, everything else 0 (x * 1 + 0 == x in floating point).
struct Terms {
  std::vector<float> scale, shift, mean, invstd, coef, offset, slope;
};

Terms plain_terms(int64_t channels);
// Training-mode batch norm's forward terms from the batch's mean and biased variance.
Terms batch_norm_terms(const std::vector<double>& mean, const std::vector<double>& var, const at::Tensor& weight,
                       const at::Tensor& bias, double eps);
// Completes `t` for the backward from the sums of dz and dz * xhat over `count` pixels.
void add_gradient_terms(Terms& t, const ChannelSums& sums, const at::Tensor& weight, double count);
// The mean and biased variance from per-channel sums and sums of squares over `count` pixels.
std::pair<std::vector<double>, std::vector<double>> moments_from_sums(const ChannelSums& s, double count);
// As LibTorch's training-mode batch norm: the unbiased variance into the running one.
void update_running_statistics(at::Tensor running_mean, at::Tensor running_var, const std::vector<double>& mean,
                               const std::vector<double>& var, double count, double factor);
// A norm's running statistics as the fused functions take them: undefined tensors when it tracks
// none; otherwise the batch is counted (num_batches_tracked) and `factor` is the update's.
struct RunningUpdate {
  at::Tensor mean, var;
  double factor = 0.0;
};
RunningUpdate running_update(SyncBatchNormImplBase& norm);
// The norm's weight and bias gradients from the sums of dz (first) and dz * xhat (second), in
// the norm weight's dtype.
std::pair<at::Tensor, at::Tensor> norm_parameter_gradients(const ChannelSums& sums, const at::Tensor& norm_weight);
// `tensors` followed by the forward's terms, to save for the backward; read back with
// terms_from_saved.
std::vector<at::Tensor> with_saved_terms(std::vector<at::Tensor> tensors, const Terms& t);
Terms terms_from_saved(const at::Tensor& mean, const at::Tensor& invstd, const at::Tensor& scale,
                       const at::Tensor& shift);

// The pooled gradient's row for input row r (image r / h, row r % h), or null where the pool
// drops the row.
inline const float* pooled_row(const float* g, const Map& m, int64_t r) {
  const int64_t y = r % m.h;
  if (y >= 2 * m.pooled_h()) return nullptr;
  return g + ((r / m.h) * m.pooled_h() + y / 2) * m.pooled_w() * m.c;
}

// The pixel kernels over one row of w pixels (c_n channels each), compiled in the clones'
// instruction sets. `sums` holds two runs of c_n floats, added to.
void moments_row(int64_t w, int64_t c_n, const float* x, float* sums);
// A pooled row from the two input rows above it.
void pool_row(int64_t pw, int64_t c_n, const float* top, const float* bottom, const Terms& t, float* out);
// gr: the pooled gradient's row (pooled_row).
void gradient_sums_row(int64_t kept_w, int64_t c_n, const float* x, const float* gr, const Terms& t, float* sums);
// The input's gradient over a row; gr null (a row the pool drops) or pixels past kept_w take
// `zeros` (c_n of them) as their pooled gradient.
void gradient_row(int64_t w, int64_t kept_w, int64_t c_n, const float* x, const float* gr, const float* zeros,
                  const Terms& t, float* dx);

}  // namespace ssdd::models::block_tail
