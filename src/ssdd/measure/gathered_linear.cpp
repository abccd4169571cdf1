#include "ssdd/measure/gathered_linear.h"

#include <algorithm>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "ssdd/core/cpu_clones.h"
#include "ssdd/core/error.h"

namespace ssdd::measure {
namespace {

constexpr int64_t kLanes = 16;        // one AVX-512 register of floats, two AVX2 ones
constexpr int64_t kRowBlock = 4;      // rows that share each load of the weights or gradients
constexpr int64_t kColumnTile = 256;  // a tile's gradient (classes x 256 floats) stays in L1
// The least work worth a thread: reading rows at random is bound by the memory's latency, and a
// second thread made a probe step of 256 rows slower on the 2-core machine we measured.
constexpr int64_t kRowsPerThread = 256;
constexpr int64_t kElementsPerThread = kRowsPerThread * 4096;

// scaled[j] = (x[j] - mean[j]) * inv_std[j]
SSDD_CPU_CLONES void scale_row(int64_t p, const float* __restrict x, const float* __restrict mean,
                               const float* __restrict inv_std, float* __restrict scaled) {
  for (int64_t j = 0; j < p; ++j) scaled[j] = (x[j] - mean[j]) * inv_std[j];
}

// The lanes of a dot product added in a fixed order, then its tail from column j on.
inline float finish_dot(const float* lanes, int64_t j, int64_t p, const float* a, const float* b) {
  float sum = 0.0f;
  for (int64_t l = 0; l < kLanes; ++l) sum += lanes[l];
  for (; j < p; ++j) sum += a[j] * b[j];
  return sum;
}

// The dot product of a and b, kept as kLanes partial sums.
SSDD_CPU_CLONES float lane_dot(int64_t p, const float* __restrict a, const float* __restrict b) {
  float lanes[kLanes] = {};
  int64_t j = 0;
  for (; j + kLanes <= p; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) lanes[l] += a[j + l] * b[j + l];
  return finish_dot(lanes, j, p, a, b);
}

// lane_dot of each of kRowBlock rows (s, one after another) with w, each row's sums in the same
// order as lane_dot's (so a row's logit does not depend on its block), four sums in flight.
SSDD_CPU_CLONES void lane_dot_block(int64_t p, const float* __restrict s, const float* __restrict w,
                                    float* __restrict out) {
  static_assert(kRowBlock == 4, "four accumulators below");
  float a0[kLanes] = {}, a1[kLanes] = {}, a2[kLanes] = {}, a3[kLanes] = {};
  const float *s0 = s, *s1 = s + p, *s2 = s + 2 * p, *s3 = s + 3 * p;
  int64_t j = 0;
  for (; j + kLanes <= p; j += kLanes)
    for (int64_t l = 0; l < kLanes; ++l) {
      const float wl = w[j + l];
      a0[l] += s0[j + l] * wl;
      a1[l] += s1[j + l] * wl;
      a2[l] += s2[j + l] * wl;
      a3[l] += s3[j + l] * wl;
    }
  out[0] = finish_dot(a0, j, p, s0, w);
  out[1] = finish_dot(a1, j, p, s1, w);
  out[2] = finish_dot(a2, j, p, s2, w);
  out[3] = finish_dot(a3, j, p, s3, w);
}

// gw[c][j] += g[r][c] * s_r[j] over a block of kRowBlock rows for j in [0, n); the rows of s and
// of gw are p floats apart.
SSDD_CPU_CLONES void add_block_gradients(int64_t n, int64_t p, const float* __restrict s,
                                         const float* __restrict g, int64_t classes, float* __restrict gw) {
  const float *s0 = s, *s1 = s + p, *s2 = s + 2 * p, *s3 = s + 3 * p;
  for (int64_t c = 0; c < classes; ++c) {
    const float g0 = g[c], g1 = g[classes + c], g2 = g[2 * classes + c], g3 = g[3 * classes + c];
    float* out = gw + c * p;
    for (int64_t t = 0; t < n; ++t) out[t] += g0 * s0[t] + g1 * s1[t] + g2 * s2[t] + g3 * s3[t];
  }
}

// The same for one row.
SSDD_CPU_CLONES void add_row_gradients(int64_t n, int64_t p, const float* __restrict s, const float* __restrict g,
                                       int64_t classes, float* __restrict gw) {
  for (int64_t c = 0; c < classes; ++c) {
    const float gc = g[c];
    float* out = gw + c * p;
    for (int64_t t = 0; t < n; ++t) out[t] += gc * s[t];
  }
}

struct Operands {
  const float* x;
  int64_t p;
  const int64_t* index;
  int64_t rows;
  const float* mean;
  const float* inv_std;
};

Operands operands(const at::Tensor& features, const at::Tensor& index, const at::Tensor& mean,
                  const at::Tensor& inv_std) {
  return {features.data_ptr<float>(), features.size(1), index.data_ptr<int64_t>(), index.size(0),
          mean.data_ptr<float>(), inv_std.data_ptr<float>()};
}

// The rows `index` of the matrix, scaled, one after another: the batch both passes read.
at::Tensor scaled_batch(const Operands& o, int64_t first, int64_t last) {
  auto batch = at::empty({last - first, o.p}, at::kFloat);
  float* out = batch.data_ptr<float>();
  at::parallel_for(first, last, kRowsPerThread, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      scale_row(o.p, o.x + o.index[r] * o.p, o.mean, o.inv_std, out + (r - first) * o.p);
  });
  return batch;
}

// y[r][c] = bias[c] + batch[r] . weight[c], written into `out` (rows x classes).
void batch_logits(const at::Tensor& batch, const at::Tensor& weight, const at::Tensor& bias, float* y) {
  const int64_t rows = batch.size(0), p = batch.size(1), classes = weight.size(0);
  const float* s = batch.data_ptr<float>();
  const float* w = weight.data_ptr<float>();
  const float* b = bias.data_ptr<float>();
  at::parallel_for(0, rows, kRowsPerThread, [&](int64_t first, int64_t last) {
    float block[kRowBlock];
    int64_t r = first;
    for (; r + kRowBlock <= last; r += kRowBlock)
      for (int64_t c = 0; c < classes; ++c) {
        lane_dot_block(p, s + r * p, w + c * p, block);
        for (int64_t i = 0; i < kRowBlock; ++i) y[(r + i) * classes + c] = b[c] + block[i];
      }
    for (; r < last; ++r)
      for (int64_t c = 0; c < classes; ++c) y[r * classes + c] = b[c] + lane_dot(p, s + r * p, w + c * p);
  });
}

// The weights' gradient grad_logits^T @ batch, the columns split among the threads; each
// column's sum runs over the rows in the same blocks and order at any thread count.
at::Tensor weight_gradient(const at::Tensor& batch, const at::Tensor& grad_logits) {
  const int64_t rows = batch.size(0), p = batch.size(1), classes = grad_logits.size(1);
  auto gw = at::zeros({classes, p}, grad_logits.options());
  const float* s = batch.data_ptr<float>();
  const float* g = grad_logits.data_ptr<float>();
  float* out = gw.data_ptr<float>();
  const int64_t tiles = (p + kColumnTile - 1) / kColumnTile;
  const int64_t tiles_per_thread = std::max<int64_t>(1, kElementsPerThread / (rows * kColumnTile));
  at::parallel_for(0, tiles, tiles_per_thread, [&](int64_t first, int64_t last) {
    for (int64_t t = first; t < last; ++t) {
      const int64_t j0 = t * kColumnTile, n = std::min(p, j0 + kColumnTile) - j0;
      int64_t r = 0;
      for (; r + kRowBlock <= rows; r += kRowBlock)
        add_block_gradients(n, p, s + r * p + j0, g + r * classes, classes, out + j0);
      for (; r < rows; ++r) add_row_gradients(n, p, s + r * p + j0, g + r * classes, classes, out + j0);
    }
  });
  return gw;
}

class GatheredLinearFunction : public torch::autograd::Function<GatheredLinearFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& weight, const at::Tensor& bias,
                            const at::Tensor& batch) {
    ctx->save_for_backward({batch});
    auto y = at::empty({batch.size(0), weight.size(0)}, weight.options());
    batch_logits(batch, weight.contiguous(), bias.contiguous(), y.data_ptr<float>());
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor g = grads[0].contiguous();
    return {weight_gradient(ctx->get_saved_variables()[0], g), g.sum(0), at::Tensor()};
  }
};

// Logits without a gradient (a split's accuracy): the rows a chunk at a time, so that no copy of
// the whole matrix is made.
at::Tensor logits_in_chunks(const Operands& o, const at::Tensor& weight, const at::Tensor& bias) {
  constexpr int64_t kChunk = 1024;
  auto y = at::empty({o.rows, weight.size(0)}, weight.options());
  const auto w = weight.contiguous(), b = bias.contiguous();
  for (int64_t first = 0; first < o.rows; first += kChunk) {
    const int64_t last = std::min(o.rows, first + kChunk);
    batch_logits(scaled_batch(o, first, last), w, b, y.data_ptr<float>() + first * weight.size(0));
  }
  return y;
}

void check_arguments(const at::Tensor& features, const at::Tensor& index, const at::Tensor& weight,
                     const at::Tensor& bias) {
  if (!gathered_linear_applies(features)) throw Error("gathered_linear: features must be 2-D contiguous CPU floats");
  const int64_t n = features.size(0), p = features.size(1);
  if (weight.dim() != 2 || weight.size(1) != p || bias.dim() != 1 || bias.size(0) != weight.size(0) ||
      weight.scalar_type() != at::kFloat || bias.scalar_type() != at::kFloat)
    throw Error("gathered_linear: weight must be float classes x " + std::to_string(p) + ", bias float classes");
  if (index.dim() != 1 || index.scalar_type() != at::kLong || !index.is_contiguous() || !index.device().is_cpu())
    throw Error("gathered_linear: index must be a contiguous 1-D int64 CPU tensor");
  if (index.numel() > 0 && (index.min().item<int64_t>() < 0 || index.max().item<int64_t>() >= n))
    throw Error("gathered_linear: index outside the " + std::to_string(n) + " feature rows");
}

}  // namespace

bool gathered_linear_applies(const at::Tensor& features) {
  return features.defined() && features.dim() == 2 && features.device().is_cpu() &&
         features.scalar_type() == at::kFloat && features.is_contiguous();
}

at::Tensor gathered_linear(const at::Tensor& features, const at::Tensor& index, const at::Tensor& weight,
                           const at::Tensor& bias, const ColumnScaling& scaling) {
  check_arguments(features, index, weight, bias);
  const int64_t p = features.size(1);
  // The raw features as the scaled ones with mean 0 and scale 1: (x - 0) * 1 is x exactly.
  const at::Tensor mean = scaling.mean.defined() ? scaling.mean.reshape({p}).to(at::kFloat).contiguous()
                                                 : at::zeros({p}, features.options());
  const at::Tensor inv_std = scaling.inv_std.defined() ? scaling.inv_std.reshape({p}).to(at::kFloat).contiguous()
                                                       : at::ones({p}, features.options());
  const Operands o = operands(features, index, mean, inv_std);
  if (!at::GradMode::is_enabled() || !(weight.requires_grad() || bias.requires_grad()))
    return logits_in_chunks(o, weight.detach(), bias.detach());
  return GatheredLinearFunction::apply(weight, bias, scaled_batch(o, 0, o.rows));
}

}  // namespace ssdd::measure
