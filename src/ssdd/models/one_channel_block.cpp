#include "ssdd/models/one_channel_block.h"

#include <cstring>

#include <torch/autograd.h>
#include <torch/torch.h>

#include "ssdd/models/batch_norm.h"
#include "ssdd/models/block_tail_kernels.h"
#include "ssdd/models/cpu_float.h"

namespace ssdd::models {

namespace {

using namespace block_tail;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int64_t kTaps = 9;  // 3 x 3, k = 3 * dy + dx

// The convolution with its weights tap-major (taps[k * c + ch]), so that one tap's weights for
// every output channel are contiguous and a pixel's channels vectorise.
struct Conv {
  int64_t c;
  std::vector<float> taps, bias;
};

Conv conv_of(const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t c = weight.size(0);
  return {c, floats(weight.reshape({c, kTaps}).t()), floats(bias)};
}

// A convolution without a bias as one with a zero bias (LibTorch's custom functions take no
// undefined inputs); its gradient goes nowhere.
at::Tensor bias_or_zeros(const at::Tensor& bias, const at::Tensor& weight) {
  return bias.defined() ? bias : at::zeros({weight.size(0)}, weight.options());
}

// An N x H x W image batch and the block's output channels, in the tails' terms.
Map map_of(const at::Tensor& x, const Conv& conv) { return {x.size(0), x.size(2), x.size(3), conv.c}; }

// Sixteen channels as one value (GCC's and Clang's vector extension): one AVX-512 register, two
// AVX2 ones, four SSE ones, whichever clone runs. The row kernels keep a block's taps or gradient
// sums in such values across a row's pixels, and work on four pixels at a time so that four
// independent sums hide the multiply-add's latency.
using Lanes = float __attribute__((vector_size(64)));
constexpr int64_t kLanes = 16;
constexpr int64_t kPixels = 4;

#if defined(__GNUC__) && !defined(__clang__)
// GCC warns that returning such a value changes the calling convention between the clones; the
// helper below is internal and inlined, so no call passes one. Popped at the namespace's end.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
inline Lanes load(const float* p) {
  Lanes v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, const Lanes& v) { std::memcpy(p, &v, sizeof v); }

// The 3x3 neighbourhoods of row y's pixels in an h x w image (zero outside it): patches[i * 9 + k].
void row_patches(const float* image, int64_t h, int64_t w, int64_t y, float* __restrict padded,
                 float* __restrict patches) {
  for (int64_t dy = 0; dy < 3; ++dy) {  // three image rows, zero-padded by one pixel each side
    float* row = padded + dy * (w + 2);
    const int64_t yy = y + dy - 1;
    row[0] = row[w + 1] = 0.0f;
    if (yy >= 0 && yy < h) std::copy(image + yy * w, image + (yy + 1) * w, row + 1);
    else std::fill(row + 1, row + w + 1, 0.0f);
  }
  for (int64_t i = 0; i < w; ++i)
    for (int64_t k = 0; k < kTaps; ++k) patches[i * kTaps + k] = padded[(k / 3) * (w + 2) + i + k % 3];
}

// The convolution's w x c outputs over a row, from its patches: z[i * c + ch] = bias[ch] +
// sum_k patches[i * 9 + k] * taps[k][ch], summed in k's order.
SSDD_CPU_CLONES void convolve_row(int64_t w, const Conv& conv, const float* __restrict patches, float* __restrict z) {
  const int64_t c_n = conv.c;
  const float* taps = conv.taps.data();
  const float* bias = conv.bias.data();
  int64_t c0 = 0;
  for (; c0 + kLanes <= c_n; c0 += kLanes) {
    Lanes t[kTaps];
    for (int64_t k = 0; k < kTaps; ++k) t[k] = load(taps + k * c_n + c0);
    const Lanes b = load(bias + c0);
    int64_t i = 0;
    for (; i + kPixels <= w; i += kPixels) {
      const float* p = patches + i * kTaps;
      Lanes s0 = b, s1 = b, s2 = b, s3 = b;
#pragma GCC unroll 9
      for (int64_t k = 0; k < kTaps; ++k) {
        s0 += p[k] * t[k];
        s1 += p[kTaps + k] * t[k];
        s2 += p[2 * kTaps + k] * t[k];
        s3 += p[3 * kTaps + k] * t[k];
      }
      store(z + i * c_n + c0, s0);
      store(z + (i + 1) * c_n + c0, s1);
      store(z + (i + 2) * c_n + c0, s2);
      store(z + (i + 3) * c_n + c0, s3);
    }
    for (; i < w; ++i) {
      Lanes s = b;
      for (int64_t k = 0; k < kTaps; ++k) s += patches[i * kTaps + k] * t[k];
      store(z + i * c_n + c0, s);
    }
  }
  for (int64_t i = 0; i < w; ++i)  // the channels past the last full block
    for (int64_t c = c0; c < c_n; ++c) {
      float sum = bias[c];
      for (int64_t k = 0; k < kTaps; ++k) sum += patches[i * kTaps + k] * taps[k * c_n + c];
      z[i * c_n + c] = sum;
    }
}

// A thread's view of the convolution's output, one row at a time.
class ConvRow {
 public:
  ConvRow(const float* x, const Map& m, const Conv& conv)
      : x_(x),
        m_(m),
        conv_(conv),
        padded_(static_cast<size_t>(3 * (m.w + 2))),
        patches_(static_cast<size_t>(m.w * kTaps)),
        out_(static_cast<size_t>(m.w * m.c)) {}

  // Row r of the batch (image r / h, row r % h), w x c floats; the result lives until the next call.
  const float* compute(int64_t r) {
    row_patches(x_ + (r / m_.h) * m_.h * m_.w, m_.h, m_.w, r % m_.h, padded_.data(), patches_.data());
    convolve_row(m_.w, conv_, patches_.data(), out_.data());
    return out_.data();
  }
  // The row's 3x3 neighbourhoods, w x 9 floats.
  const float* patches() const { return patches_.data(); }

 private:
  const float* x_;
  Map m_;
  const Conv& conv_;
  std::vector<float> padded_, patches_, out_;
};

// Per channel: the mean and biased variance of the convolution's output over every pixel.
std::pair<std::vector<double>, std::vector<double>> conv_moments(const float* x, const Map& m, const Conv& conv) {
  const int64_t c_n = m.c;
  const ChannelSums s = channel_sums(m.n * m.h, c_n, 2, [&](int64_t begin, int64_t end, double* sums) {
    ConvRow rows(x, m, conv);
    std::vector<float> row(static_cast<size_t>(2 * c_n), 0.0f);
    for (int64_t r = begin; r < end; ++r) {
      const float* z = rows.compute(r);
      moments_row(m.w, c_n, z, row.data());
      fold_row(row, sums);
    }
  });
  return moments_from_sums(s, static_cast<double>(m.pixels()));
}

void conv_pool_forward(const float* x, const Map& m, const Conv& conv, const Terms& t, float* out) {
  const int64_t c_n = m.c, ph = m.pooled_h(), pw = m.pooled_w();
  at::parallel_for(0, m.n * ph, 1, [&](int64_t first, int64_t last) {
    ConvRow top_row(x, m, conv), bottom_row(x, m, conv);
    for (int64_t r = first; r < last; ++r) {  // one pooled row: image r / ph, row r % ph
      const int64_t above = (r / ph) * m.h + 2 * (r % ph);
      const float* top = top_row.compute(above);
      pool_row(pw, c_n, top, bottom_row.compute(above + 1), t, out + r * pw * c_n);
    }
  });
}

// Per channel: the sums of dz and of dz * xhat over the pixels the pool keeps.
ChannelSums conv_norm_gradient_sums(const float* x, const float* g, const Map& m, const Conv& conv, const Terms& t) {
  const int64_t c_n = m.c, kept_w = 2 * m.pooled_w();
  return channel_sums(m.n * m.h, c_n, 2, [&](int64_t begin, int64_t end, double* sums) {
    ConvRow rows(x, m, conv);
    std::vector<float> row(static_cast<size_t>(2 * c_n), 0.0f);
    for (int64_t r = begin; r < end; ++r) {
      const float* gr = pooled_row(g, m, r);
      if (!gr) continue;
      gradient_sums_row(kept_w, c_n, rows.compute(r), gr, t, row.data());
      fold_row(row, sums);
    }
  });
}

// A dot product in eight fixed lanes, added up as a tree: the compiler vectorises it without
// reordering a float sum, and the order is the same on every machine.
inline float dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float lanes[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int64_t j = 0; j < 8; ++j) lanes[j] += a[i + j] * b[i + j];
  float tail = 0.0f;
  for (; i < n; ++i) tail += a[i] * b[i];
  float half[4];
  for (int64_t j = 0; j < 4; ++j) half[j] = lanes[j] + lanes[j + 4];
  return ((half[0] + half[2]) + (half[1] + half[3])) + tail;
}

// A row's dz times its patches into the weights' sums (sums[k * c + ch]) and dz into the bias's
// (sums[9c + ch]), a block of channels at a time with its ten sums held over the row.
SSDD_CPU_CLONES void add_weight_gradients(int64_t w, int64_t c_n, const float* __restrict patches,
                                          const float* __restrict dz, float* __restrict sums) {
  int64_t c0 = 0;
  for (; c0 + kLanes <= c_n; c0 += kLanes) {
    Lanes acc[kTaps + 1] = {};
    for (int64_t i = 0; i < w; ++i) {
      const float* p = patches + i * kTaps;
      const Lanes d = load(dz + i * c_n + c0);
#pragma GCC unroll 9
      for (int64_t k = 0; k < kTaps; ++k) acc[k] += p[k] * d;
      acc[kTaps] += d;
    }
    for (int64_t k = 0; k <= kTaps; ++k) store(sums + k * c_n + c0, load(sums + k * c_n + c0) + acc[k]);
  }
  for (int64_t i = 0; i < w; ++i)  // the channels past the last full block
    for (int64_t c = c0; c < c_n; ++c) {
      for (int64_t k = 0; k < kTaps; ++k) sums[k * c_n + c] += patches[i * kTaps + k] * dz[i * c_n + c];
      sums[kTaps * c_n + c] += dz[i * c_n + c];
    }
}

// dz's contribution to the convolution's parameters and, with dx (the image's gradient), to the
// image: the pixel under tap k of pixel i receives sum_ch taps[k][ch] * dz[i][ch]. `per_tap`
// holds w x 9 floats.
SSDD_CPU_CLONES void add_row_gradients(const float* patches, const float* dz, const Map& m, const Conv& conv,
                                       int64_t y, float* sums, float* per_tap, float* dx) {
  const int64_t c_n = m.c, w = m.w;
  add_weight_gradients(w, c_n, patches, dz, sums);
  if (!dx) return;
  for (int64_t p = 0; p < w; ++p)
    for (int64_t k = 0; k < kTaps; ++k) per_tap[p * kTaps + k] = dot(conv.taps.data() + k * c_n, dz + p * c_n, c_n);
  for (int64_t dy = 0; dy < 3; ++dy) {
    const int64_t yy = y + dy - 1;
    if (yy < 0 || yy >= m.h) continue;
    float* row = dx + yy * w;
    for (int64_t dxx = 0; dxx < 3; ++dxx)
      for (int64_t p = std::max<int64_t>(0, 1 - dxx); p < std::min(w, w + 1 - dxx); ++p)
        row[p + dxx - 1] += per_tap[p * kTaps + dy * 3 + dxx];
  }
}

struct Gradients {
  at::Tensor x, weight, bias;
};

// The gradients of the convolution's parameters and (with_input) of the image, for the terms `t`
// (a pixel's dz as gradient_row computes it). Chunks over images, so no two threads write to
// one image's gradient.
Gradients conv_gradients(const at::Tensor& x, const float* g, const Map& m, const Conv& conv, const Terms& t,
                         bool with_input) {
  const int64_t c_n = m.c, kept_w = 2 * m.pooled_w();
  at::Tensor dx = with_input ? at::zeros(x.sizes(), x.options()) : at::Tensor();
  float* dx_data = with_input ? dx.data_ptr<float>() : nullptr;
  const ChannelSums s = channel_sums(m.n, c_n, kTaps + 1, [&](int64_t begin, int64_t end, double* sums) {
    ConvRow rows(x.data_ptr<float>(), m, conv);
    const std::vector<float> zeros(static_cast<size_t>(c_n), 0.0f);
    std::vector<float> dz(static_cast<size_t>(m.w * c_n)), row((kTaps + 1) * c_n, 0.0f);
    std::vector<float> per_tap(static_cast<size_t>(m.w * kTaps));
    for (int64_t r = begin * m.h; r < end * m.h; ++r) {
      const float* gr = pooled_row(g, m, r);
      gradient_row(m.w, kept_w, c_n, rows.compute(r), gr, zeros.data(), t, dz.data());
      add_row_gradients(rows.patches(), dz.data(), m, conv, r % m.h, row.data(), per_tap.data(),
                        dx_data ? dx_data + (r / m.h) * m.h * m.w : nullptr);
      fold_row(row, sums);
    }
  });
  std::vector<double> taps;
  for (int64_t k = 0; k < kTaps; ++k) taps.insert(taps.end(), s.of[k].begin(), s.of[k].end());
  const at::Tensor weight = torch::tensor(taps, torch::kDouble).view({kTaps, c_n}).t().reshape({c_n, 1, 3, 3});
  return {dx, weight.to(at::kFloat), torch::tensor(s.of[kTaps], torch::kDouble).to(at::kFloat)};
}

class ConvReluPool : public torch::autograd::Function<ConvReluPool> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias) {
    const Conv conv = conv_of(weight, bias);
    const Map m = map_of(x, conv);
    at::Tensor out = empty_pooled(m, x.options());
    conv_pool_forward(x.data_ptr<float>(), m, conv, plain_terms(m.c), out.data_ptr<float>());
    ctx->save_for_backward({x, weight, bias});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor g = grads[0].contiguous(kChannelsLast);
    const Conv conv = conv_of(saved[1], saved[2]);
    const Map m = map_of(saved[0], conv);
    const Gradients d = conv_gradients(saved[0], g.data_ptr<float>(), m, conv, plain_terms(m.c),
                                       ctx->needs_input_grad(0));
    return {d.x, d.weight, d.bias};
  }
};

class ConvBatchNormReluPool : public torch::autograd::Function<ConvBatchNormReluPool> {
 public:
  // running_mean and running_var are updated in place with `factor` (undefined: not tracked).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, const at::Tensor& norm_weight, const at::Tensor& norm_bias,
                            at::Tensor running_mean, at::Tensor running_var, double factor, double eps) {
    const Conv conv = conv_of(weight, bias);
    const Map m = map_of(x, conv);
    const auto [mean, var] = conv_moments(x.data_ptr<float>(), m, conv);
    const Terms t = batch_norm_terms(mean, var, norm_weight, norm_bias, eps);
    at::Tensor out = empty_pooled(m, x.options());
    conv_pool_forward(x.data_ptr<float>(), m, conv, t, out.data_ptr<float>());
    update_running_statistics(running_mean, running_var, mean, var, static_cast<double>(m.pixels()), factor);
    ctx->save_for_backward(with_saved_terms({x, weight, bias, norm_weight}, t));
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor g = grads[0].contiguous(kChannelsLast);
    const Conv conv = conv_of(saved[1], saved[2]);
    const Map m = map_of(x, conv);
    Terms t = terms_from_saved(saved[4], saved[5], saved[6], saved[7]);
    const ChannelSums sums = conv_norm_gradient_sums(x.data_ptr<float>(), g.data_ptr<float>(), m, conv, t);
    add_gradient_terms(t, sums, saved[3], static_cast<double>(m.pixels()));
    const Gradients d = conv_gradients(x, g.data_ptr<float>(), m, conv, t, ctx->needs_input_grad(0));
    const auto [d_norm_weight, d_norm_bias] = norm_parameter_gradients(sums, saved[3]);
    return {d.x,           d.weight,     d.bias,       d_norm_weight, d_norm_bias,
            at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

bool fusable_one_channel_block(const at::Tensor& x, const at::Tensor& weight) {
  return is_cpu_float(x) && is_cpu_float(weight) && x.dim() == 4 && x.size(1) == 1 && x.size(2) >= 2 &&
         x.size(3) >= 2 && x.is_contiguous() && weight.dim() == 4 && weight.size(1) == 1 && weight.size(2) == 3 &&
         weight.size(3) == 3;
}

at::Tensor conv_relu_pool(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias) {
  return ConvReluPool::apply(x, weight, bias_or_zeros(bias, weight));
}

at::Tensor conv_batch_norm_relu_pool(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                     SyncBatchNormImplBase& norm) {
  const block_tail::RunningUpdate running = block_tail::running_update(norm);
  return ConvBatchNormReluPool::apply(x, weight, bias_or_zeros(bias, weight), norm.weight, norm.bias, running.mean,
                                      running.var, running.factor, norm.options.eps());
}

}  // namespace ssdd::models
