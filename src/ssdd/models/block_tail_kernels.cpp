#include "ssdd/models/block_tail_kernels.h"

#include <cmath>
#include <cstring>

#include <torch/torch.h>

#include "ssdd/models/batch_norm.h"

namespace ssdd::models::block_tail {

namespace {

// The pixel kernels work on one pixel's channels through __restrict pointers, so the compiler
// vectorises them (without the qualifiers it cannot rule out that the output aliases the
// per-channel terms).

// g where z > 0, else 0 (the ReLU's backward), with the test on z's bits: a positive float's bits
// read as a positive integer. Written as a float comparison choosing a value, it kept GCC from
// vectorising the loops (-ftrapping-math, the default, forbids the if-conversion).
inline float where_positive(float z, float g) {
  int32_t z_bits, g_bits;
  std::memcpy(&z_bits, &z, sizeof z);
  std::memcpy(&g_bits, &g, sizeof g);
  g_bits &= -static_cast<int32_t>(z_bits > 0);
  float out;
  std::memcpy(&out, &g_bits, sizeof out);
  return out;
}

// out = 0.25 * sum over a 2x2 window (pixels a, b above d, e) of relu(x * scale + shift).
inline void pool_pixel(int64_t channels, const float* __restrict a, const float* __restrict b,
                       const float* __restrict d, const float* __restrict e, const float* __restrict scale,
                       const float* __restrict shift, float* __restrict out) {
  for (int64_t c = 0; c < channels; ++c) {
    const float s = std::max(a[c] * scale[c] + shift[c], 0.0f) + std::max(b[c] * scale[c] + shift[c], 0.0f) +
                    std::max(d[c] * scale[c] + shift[c], 0.0f) + std::max(e[c] * scale[c] + shift[c], 0.0f);
    out[c] = 0.25f * s;
  }
}

inline void gradient_pixel(int64_t channels, const float* __restrict x, const float* __restrict g,
                           const Terms& t, float* __restrict dx) {
  const float* __restrict scale = t.scale.data();
  const float* __restrict shift = t.shift.data();
  const float* __restrict coef = t.coef.data();
  const float* __restrict offset = t.offset.data();
  const float* __restrict slope = t.slope.data();
  for (int64_t c = 0; c < channels; ++c) {
    const float dz = where_positive(x[c] * scale[c] + shift[c], 0.25f * g[c]);
    dx[c] = coef[c] * dz + (offset[c] + slope[c] * x[c]);
  }
}

inline void moments_pixel(int64_t channels, const float* __restrict x, float* __restrict sum,
                          float* __restrict squares) {
  for (int64_t c = 0; c < channels; ++c) {
    sum[c] += x[c];
    squares[c] += x[c] * x[c];
  }
}

inline void gradient_sums_pixel(int64_t channels, const float* __restrict x, const float* __restrict g,
                                const Terms& t, float* __restrict sum_dz, float* __restrict sum_dz_xhat) {
  const float* __restrict scale = t.scale.data();
  const float* __restrict shift = t.shift.data();
  const float* __restrict mean = t.mean.data();
  const float* __restrict invstd = t.invstd.data();
  for (int64_t c = 0; c < channels; ++c) {
    const float dz = where_positive(x[c] * scale[c] + shift[c], 0.25f * g[c]);
    sum_dz[c] += dz;
    sum_dz_xhat[c] += dz * ((x[c] - mean[c]) * invstd[c]);
  }
}

}  // namespace

at::Tensor empty_pooled(const Map& m, const at::TensorOptions& options) {
  return at::empty({m.n, m.c, m.pooled_h(), m.pooled_w()}, options.memory_format(kChannelsLast));
}

std::vector<float> floats(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

Terms plain_terms(int64_t channels) {
  const auto n = static_cast<size_t>(channels);
  const std::vector<float> ones(n, 1.0f), zeros(n, 0.0f);
  return {ones, zeros, zeros, ones, ones, zeros, zeros};
}

Terms batch_norm_terms(const std::vector<double>& mean, const std::vector<double>& var, const at::Tensor& weight,
                       const at::Tensor& bias, double eps) {
  const std::vector<float> w = floats(weight), b = floats(bias);
  Terms t = plain_terms(static_cast<int64_t>(mean.size()));
  for (size_t c = 0; c < mean.size(); ++c) {
    const double invstd = 1.0 / std::sqrt(var[c] + eps);
    t.mean[c] = static_cast<float>(mean[c]);
    t.invstd[c] = static_cast<float>(invstd);
    t.scale[c] = static_cast<float>(w[c] * invstd);
    t.shift[c] = static_cast<float>(b[c] - mean[c] * w[c] * invstd);
  }
  return t;
}

void add_gradient_terms(Terms& t, const ChannelSums& sums, const at::Tensor& weight, double count) {
  const std::vector<float> w = floats(weight);
  for (size_t c = 0; c < w.size(); ++c) {
    const float coef = w[c] * t.invstd[c];
    const auto a = static_cast<float>(sums.first()[c] / count);
    const auto b = static_cast<float>(sums.second()[c] / count);
    t.coef[c] = coef;
    t.slope[c] = -coef * b * t.invstd[c];
    t.offset[c] = coef * (b * t.invstd[c] * t.mean[c] - a);
  }
}

std::pair<std::vector<double>, std::vector<double>> moments_from_sums(const ChannelSums& s, double count) {
  std::vector<double> mean = s.first(), var = s.second();
  for (size_t c = 0; c < mean.size(); ++c) {
    mean[c] /= count;
    var[c] = std::max(var[c] / count - mean[c] * mean[c], 0.0);
  }
  return {mean, var};
}

void update_running_statistics(at::Tensor running_mean, at::Tensor running_var, const std::vector<double>& mean,
                               const std::vector<double>& var, double count, double factor) {
  if (!running_mean.defined()) return;
  const at::Tensor batch_mean = torch::tensor(mean, torch::kDouble).to(running_mean.scalar_type());
  const at::Tensor batch_var =
      (torch::tensor(var, torch::kDouble) * (count / std::max(count - 1, 1.0))).to(running_var.scalar_type());
  running_mean.mul_(1 - factor).add_(batch_mean, factor);
  running_var.mul_(1 - factor).add_(batch_var, factor);
}

RunningUpdate running_update(SyncBatchNormImplBase& norm) {
  if (!norm.options.track_running_stats()) return {};
  const double factor = norm.count_batch();
  return {norm.running_mean, norm.running_var, factor};
}

std::pair<at::Tensor, at::Tensor> norm_parameter_gradients(const ChannelSums& sums, const at::Tensor& norm_weight) {
  return {torch::tensor(sums.second(), torch::kDouble).to(norm_weight.scalar_type()),
          torch::tensor(sums.first(), torch::kDouble).to(norm_weight.scalar_type())};
}

std::vector<at::Tensor> with_saved_terms(std::vector<at::Tensor> tensors, const Terms& t) {
  for (const auto* v : {&t.mean, &t.invstd, &t.scale, &t.shift}) tensors.push_back(torch::tensor(*v));
  return tensors;
}

Terms terms_from_saved(const at::Tensor& mean, const at::Tensor& invstd, const at::Tensor& scale,
                       const at::Tensor& shift) {
  Terms t = plain_terms(mean.numel());
  t.mean = floats(mean);
  t.invstd = floats(invstd);
  t.scale = floats(scale);
  t.shift = floats(shift);
  return t;
}

// The row kernels, in the clones' instruction sets (the pixel kernels inline into each clone).
SSDD_CPU_CLONES void moments_row(int64_t w, int64_t c_n, const float* x, float* sums) {
  for (int64_t i = 0; i < w; ++i) moments_pixel(c_n, x + i * c_n, sums, sums + c_n);
}

SSDD_CPU_CLONES void pool_row(int64_t pw, int64_t c_n, const float* top, const float* bottom, const Terms& t,
                              float* out) {
  for (int64_t j = 0; j < pw; ++j) {
    const float *a = top + 2 * j * c_n, *d = bottom + 2 * j * c_n;
    pool_pixel(c_n, a, a + c_n, d, d + c_n, t.scale.data(), t.shift.data(), out + j * c_n);
  }
}

SSDD_CPU_CLONES void gradient_sums_row(int64_t kept_w, int64_t c_n, const float* x, const float* gr, const Terms& t,
                                       float* sums) {
  for (int64_t i = 0; i < kept_w; ++i) gradient_sums_pixel(c_n, x + i * c_n, gr + (i / 2) * c_n, t, sums, sums + c_n);
}

SSDD_CPU_CLONES void gradient_row(int64_t w, int64_t kept_w, int64_t c_n, const float* x, const float* gr,
                                  const float* zeros, const Terms& t, float* dx) {
  for (int64_t i = 0; i < w; ++i)
    gradient_pixel(c_n, x + i * c_n, gr && i < kept_w ? gr + (i / 2) * c_n : zeros, t, dx + i * c_n);
}

}  // namespace ssdd::models::block_tail
