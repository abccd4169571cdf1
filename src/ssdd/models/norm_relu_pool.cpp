#include "ssdd/models/norm_relu_pool.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/autograd.h>
#include <torch/torch.h>

#include "ssdd/models/batch_norm.h"

namespace ssdd::models {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
constexpr auto kChannelsLast = at::MemoryFormat::ChannelsLast;

// A channels-last map as it lies in memory: n x h x w x c floats.
struct Map {
  int64_t n, h, w, c;
  int64_t pooled_h() const { return h / 2; }  // floor, as avg_pool2d(2, 2)
  int64_t pooled_w() const { return w / 2; }
  int64_t pixels() const { return n * h * w; }
};

Map map_of(const at::Tensor& x) { return {x.size(0), x.size(2), x.size(3), x.size(1)}; }

at::Tensor empty_map(const Map& m, int64_t h, int64_t w, const at::TensorOptions& options) {
  return at::empty({m.n, m.c, h, w}, options.memory_format(kChannelsLast));
}

std::vector<float> floats(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kFloat).contiguous();
  return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

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

// Per-channel sums of two quantities, reduced over chunks in order.
struct ChannelSums {
  std::vector<double> first, second;
};

template <class Body>
ChannelSums channel_sums(int64_t total, int64_t channels, const Body& body) {
  const int64_t most = std::max<int64_t>(1, at::get_num_threads());
  std::vector<double> part(static_cast<size_t>(most * 2 * channels), 0.0);
  const int64_t chunks = for_chunks(total, [&](int64_t k, int64_t begin, int64_t end) {
    double* a = &part[static_cast<size_t>(k * 2 * channels)];
    body(begin, end, a, a + channels);
  });
  ChannelSums s{std::vector<double>(channels, 0.0), std::vector<double>(channels, 0.0)};
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t c = 0; c < channels; ++c) {
      s.first[c] += part[static_cast<size_t>(k * 2 * channels + c)];
      s.second[c] += part[static_cast<size_t>(k * 2 * channels + channels + c)];
    }
  return s;
}

// The kernels below work on one pixel's channels at a time through __restrict pointers, so the
// compiler vectorises them (without the qualifiers it cannot rule out that the output aliases
// the per-channel terms).

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

// out = 0.25 * sum over a 2x2 window of relu(x * scale + shift); scale 1 and shift 0 give the
// plain block tail exactly (x * 1 + 0 == x in floating point).
inline void pool_pixel(int64_t channels, const float* __restrict a, const float* __restrict b,
                       const float* __restrict d, const float* __restrict e, const float* __restrict scale,
                       const float* __restrict shift, float* __restrict out) {
  for (int64_t c = 0; c < channels; ++c) {
    const float s = std::max(a[c] * scale[c] + shift[c], 0.0f) + std::max(b[c] * scale[c] + shift[c], 0.0f) +
                    std::max(d[c] * scale[c] + shift[c], 0.0f) + std::max(e[c] * scale[c] + shift[c], 0.0f);
    out[c] = 0.25f * s;
  }
}

void pool_forward(const float* x, const float* scale, const float* shift, float* out, const Map& m) {
  const int64_t c_n = m.c, w_n = m.w, ph = m.pooled_h(), pw = m.pooled_w();
  at::parallel_for(0, m.n * ph, 1, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {  // one pooled row: image r / ph, row r % ph
      const float* top = x + ((r / ph) * m.h + 2 * (r % ph)) * w_n * c_n;
      const float* bottom = top + w_n * c_n;
      for (int64_t j = 0; j < pw; ++j) {
        const float *a = top + 2 * j * c_n, *d = bottom + 2 * j * c_n;
        pool_pixel(c_n, a, a + c_n, d, d + c_n, scale, shift, out + (r * pw + j) * c_n);
      }
    }
  });
}

// What the backward needs per channel. dz (the gradient reaching the norm's output) is a
// quarter of the pooled gradient where the pool keeps the pixel and x * scale + shift > 0, else
// 0; the input's gradient is coef * (dz - a - xhat * b) with xhat = (x - mean) * invstd.
// Plain ReLU + pool: coef 1, a = b = mean = 0, invstd 1.
struct Terms {
  std::vector<float> scale, shift, mean, invstd, coef, a, b;
};

Terms plain_terms(int64_t channels) {
  const auto n = static_cast<size_t>(channels);
  return {std::vector<float>(n, 1.0f), std::vector<float>(n, 0.0f), std::vector<float>(n, 0.0f),
          std::vector<float>(n, 1.0f), std::vector<float>(n, 1.0f), std::vector<float>(n, 0.0f),
          std::vector<float>(n, 0.0f)};
}

// The pooled gradient's row for input row r (image r / h, row r % h), or null where the pool
// drops the row.
const float* pooled_row(const float* g, const Map& m, int64_t r) {
  const int64_t y = r % m.h;
  if (y >= 2 * m.pooled_h()) return nullptr;
  return g + ((r / m.h) * m.pooled_h() + y / 2) * m.pooled_w() * m.c;
}

// coef * (dz - a - xhat * b) = coef * dz + offset + slope * x, with the per-channel constants
// slope = -coef * b * invstd and offset = coef * (b * invstd * mean - a).
inline void gradient_pixel(int64_t channels, const float* __restrict x, const float* __restrict g,
                           const float* __restrict scale, const float* __restrict shift,
                           const float* __restrict coef, const float* __restrict offset,
                           const float* __restrict slope, float* __restrict dx) {
  for (int64_t c = 0; c < channels; ++c) {
    const float dz = where_positive(x[c] * scale[c] + shift[c], 0.25f * g[c]);
    dx[c] = coef[c] * dz + (offset[c] + slope[c] * x[c]);
  }
}

void input_gradient(const float* x, const float* g, float* dx, const Map& m, const Terms& t) {
  const int64_t c_n = m.c, w_n = m.w, kept_w = 2 * m.pooled_w();
  std::vector<float> offset(static_cast<size_t>(c_n)), slope(offset.size()), zeros(offset.size(), 0.0f);
  for (size_t c = 0; c < offset.size(); ++c) {
    slope[c] = -t.coef[c] * t.b[c] * t.invstd[c];
    offset[c] = t.coef[c] * (t.b[c] * t.invstd[c] * t.mean[c] - t.a[c]);
  }
  at::parallel_for(0, m.n * m.h, 1, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {
      const float* gr = pooled_row(g, m, r);
      for (int64_t i = 0; i < w_n; ++i) {
        const float* gp = gr && i < kept_w ? gr + (i / 2) * c_n : zeros.data();  // a dropped pixel: dz = 0
        gradient_pixel(c_n, x + (r * w_n + i) * c_n, gp, t.scale.data(), t.shift.data(), t.coef.data(),
                       offset.data(), slope.data(), dx + (r * w_n + i) * c_n);
      }
    }
  });
}

// Per-row float sums folded into double per chunk: a row holds at most a few hundred pixels.
inline void moments_pixel(int64_t channels, const float* __restrict x, float* __restrict sum,
                          float* __restrict squares) {
  for (int64_t c = 0; c < channels; ++c) {
    sum[c] += x[c];
    squares[c] += x[c] * x[c];
  }
}

// Per channel: the mean and the biased variance of x over every pixel.
std::pair<std::vector<double>, std::vector<double>> moments(const float* x, const Map& m) {
  const int64_t c_n = m.c, w_n = m.w;
  ChannelSums s = channel_sums(m.n * m.h, c_n, [&](int64_t begin, int64_t end, double* sum, double* squares) {
    std::vector<float> row_sum(static_cast<size_t>(c_n)), row_squares(row_sum.size());
    for (int64_t r = begin; r < end; ++r) {
      std::fill(row_sum.begin(), row_sum.end(), 0.0f);
      std::fill(row_squares.begin(), row_squares.end(), 0.0f);
      for (int64_t i = 0; i < w_n; ++i) moments_pixel(c_n, x + (r * w_n + i) * c_n, row_sum.data(), row_squares.data());
      for (int64_t c = 0; c < c_n; ++c) {
        sum[c] += row_sum[c];
        squares[c] += row_squares[c];
      }
    }
  });
  const auto count = static_cast<double>(m.pixels());
  for (int64_t c = 0; c < c_n; ++c) {
    s.first[c] /= count;
    s.second[c] = std::max(s.second[c] / count - s.first[c] * s.first[c], 0.0);
  }
  return {s.first, s.second};
}

inline void gradient_sums_pixel(int64_t channels, const float* __restrict x, const float* __restrict g,
                                const float* __restrict scale, const float* __restrict shift,
                                const float* __restrict mean, const float* __restrict invstd,
                                float* __restrict sum_dz, float* __restrict sum_dz_xhat) {
  for (int64_t c = 0; c < channels; ++c) {
    const float dz = where_positive(x[c] * scale[c] + shift[c], 0.25f * g[c]);
    sum_dz[c] += dz;
    sum_dz_xhat[c] += dz * ((x[c] - mean[c]) * invstd[c]);
  }
}

// Per channel: the sums of dz and of dz * xhat over the pixels the pool keeps (the bias's and
// the weight's gradients).
ChannelSums norm_gradient_sums(const float* x, const float* g, const Map& m, const Terms& t) {
  const int64_t c_n = m.c, w_n = m.w, kept_w = 2 * m.pooled_w();
  return channel_sums(m.n * m.h, c_n, [&](int64_t begin, int64_t end, double* sum_dz, double* sum_dz_xhat) {
    std::vector<float> row_dz(static_cast<size_t>(c_n)), row_dz_xhat(row_dz.size());
    for (int64_t r = begin; r < end; ++r) {
      const float* gr = pooled_row(g, m, r);
      if (!gr) continue;
      std::fill(row_dz.begin(), row_dz.end(), 0.0f);
      std::fill(row_dz_xhat.begin(), row_dz_xhat.end(), 0.0f);
      for (int64_t i = 0; i < kept_w; ++i)
        gradient_sums_pixel(c_n, x + (r * w_n + i) * c_n, gr + (i / 2) * c_n, t.scale.data(), t.shift.data(),
                            t.mean.data(), t.invstd.data(), row_dz.data(), row_dz_xhat.data());
      for (int64_t c = 0; c < c_n; ++c) {
        sum_dz[c] += row_dz[c];
        sum_dz_xhat[c] += row_dz_xhat[c];
      }
    }
  });
}

class ReluPool : public torch::autograd::Function<ReluPool> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
    const Map m = map_of(x);
    at::Tensor out = empty_map(m, m.pooled_h(), m.pooled_w(), x.options());
    const Terms t = plain_terms(m.c);
    pool_forward(x.data_ptr<float>(), t.scale.data(), t.shift.data(), out.data_ptr<float>(), m);
    ctx->save_for_backward({x});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor g = grads[0].contiguous(kChannelsLast);
    const Map m = map_of(x);
    at::Tensor dx = empty_map(m, m.h, m.w, x.options());
    input_gradient(x.data_ptr<float>(), g.data_ptr<float>(), dx.data_ptr<float>(), m, plain_terms(m.c));
    return {dx};
  }
};

class BatchNormReluPool : public torch::autograd::Function<BatchNormReluPool> {
 public:
  // running_mean and running_var are updated in place with `factor` (undefined: not tracked).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, at::Tensor running_mean, at::Tensor running_var, double factor,
                            double eps) {
    const Map m = map_of(x);
    const auto [mean, var] = moments(x.data_ptr<float>(), m);
    const std::vector<float> w = floats(weight), b = floats(bias);
    Terms t = plain_terms(m.c);
    for (int64_t c = 0; c < m.c; ++c) {
      const double invstd = 1.0 / std::sqrt(var[c] + eps);
      t.mean[c] = static_cast<float>(mean[c]);
      t.invstd[c] = static_cast<float>(invstd);
      t.scale[c] = static_cast<float>(w[c] * invstd);
      t.shift[c] = static_cast<float>(b[c] - mean[c] * w[c] * invstd);
    }
    at::Tensor out = empty_map(m, m.pooled_h(), m.pooled_w(), x.options());
    pool_forward(x.data_ptr<float>(), t.scale.data(), t.shift.data(), out.data_ptr<float>(), m);
    if (running_mean.defined()) {  // as LibTorch: the unbiased variance into the running one
      const auto count = static_cast<double>(m.pixels());
      const at::Tensor batch_mean = torch::tensor(mean, torch::kDouble).to(running_mean.scalar_type());
      const at::Tensor batch_var =
          (torch::tensor(var, torch::kDouble) * (count / std::max(count - 1, 1.0))).to(running_var.scalar_type());
      running_mean.mul_(1 - factor).add_(batch_mean, factor);
      running_var.mul_(1 - factor).add_(batch_var, factor);
    }
    ctx->save_for_backward(
        {x, weight, torch::tensor(t.mean), torch::tensor(t.invstd), torch::tensor(t.scale), torch::tensor(t.shift)});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor g = grads[0].contiguous(kChannelsLast);
    const Map m = map_of(x);
    Terms t{floats(saved[4]), floats(saved[5]), floats(saved[2]), floats(saved[3]), {}, {}, {}};
    const ChannelSums sums = norm_gradient_sums(x.data_ptr<float>(), g.data_ptr<float>(), m, t);
    const std::vector<float> w = floats(saved[1]);
    const auto count = static_cast<double>(m.pixels());
    for (int64_t c = 0; c < m.c; ++c) {
      t.coef.push_back(w[c] * t.invstd[c]);
      t.a.push_back(static_cast<float>(sums.first[c] / count));
      t.b.push_back(static_cast<float>(sums.second[c] / count));
    }
    at::Tensor dx = empty_map(m, m.h, m.w, x.options());
    input_gradient(x.data_ptr<float>(), g.data_ptr<float>(), dx.data_ptr<float>(), m, t);
    const at::Tensor d_weight = torch::tensor(sums.second, torch::kDouble).to(saved[1].scalar_type());
    const at::Tensor d_bias = torch::tensor(sums.first, torch::kDouble).to(saved[1].scalar_type());
    return {dx, d_weight, d_bias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool fusable_block_tail(const at::Tensor& x) {
  return x.defined() && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 4 && x.size(2) >= 2 &&
         x.size(3) >= 2 && x.is_contiguous(kChannelsLast);
}

at::Tensor relu_pool(const at::Tensor& x) { return ReluPool::apply(x); }

at::Tensor batch_norm_relu_pool(const at::Tensor& x, SyncBatchNormImplBase& norm) {
  const bool track = norm.options.track_running_stats();
  const double factor = track ? norm.count_batch() : 0.0;
  return BatchNormReluPool::apply(x, norm.weight, norm.bias, track ? norm.running_mean : at::Tensor(),
                                  track ? norm.running_var : at::Tensor(), factor, norm.options.eps());
}

}  // namespace ssdd::models
