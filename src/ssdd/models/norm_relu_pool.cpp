#include "ssdd/models/norm_relu_pool.h"

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

Map map_of(const at::Tensor& x) { return {x.size(0), x.size(2), x.size(3), x.size(1)}; }

void pool_forward(const float* x, const Terms& t, float* out, const Map& m) {
  const int64_t c_n = m.c, w_n = m.w, ph = m.pooled_h(), pw = m.pooled_w();
  at::parallel_for(0, m.n * ph, 1, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {  // one pooled row: image r / ph, row r % ph
      const float* top = x + ((r / ph) * m.h + 2 * (r % ph)) * w_n * c_n;
      pool_row(pw, c_n, top, top + w_n * c_n, t, out + r * pw * c_n);
    }
  });
}

void input_gradient(const float* x, const float* g, float* dx, const Map& m, const Terms& t) {
  const int64_t c_n = m.c, w_n = m.w, kept_w = 2 * m.pooled_w();
  const std::vector<float> zeros(static_cast<size_t>(c_n), 0.0f);
  at::parallel_for(0, m.n * m.h, 1, [&](int64_t first, int64_t last) {
    for (int64_t r = first; r < last; ++r) {
      gradient_row(w_n, kept_w, c_n, x + r * w_n * c_n, pooled_row(g, m, r), zeros.data(), t, dx + r * w_n * c_n);
    }
  });
}

// Per channel: the mean and the biased variance of x over every pixel.
std::pair<std::vector<double>, std::vector<double>> moments(const float* x, const Map& m) {
  const int64_t c_n = m.c, w_n = m.w;
  const ChannelSums s = channel_sums(m.n * m.h, c_n, 2, [&](int64_t begin, int64_t end, double* sums) {
    std::vector<float> row(static_cast<size_t>(2 * c_n), 0.0f);
    for (int64_t r = begin; r < end; ++r) {
      moments_row(w_n, c_n, x + r * w_n * c_n, row.data());
      fold_row(row, sums);
    }
  });
  return moments_from_sums(s, static_cast<double>(m.pixels()));
}

// Per channel: the sums of dz and of dz * xhat over the pixels the pool keeps (the bias's and
// the weight's gradients).
ChannelSums norm_gradient_sums(const float* x, const float* g, const Map& m, const Terms& t) {
  const int64_t c_n = m.c, w_n = m.w, kept_w = 2 * m.pooled_w();
  return channel_sums(m.n * m.h, c_n, 2, [&](int64_t begin, int64_t end, double* sums) {
    std::vector<float> row(static_cast<size_t>(2 * c_n), 0.0f);
    for (int64_t r = begin; r < end; ++r) {
      const float* gr = pooled_row(g, m, r);
      if (!gr) continue;
      gradient_sums_row(kept_w, c_n, x + r * w_n * c_n, gr, t, row.data());
      fold_row(row, sums);
    }
  });
}

class ReluPool : public torch::autograd::Function<ReluPool> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x) {
    const Map m = map_of(x);
    at::Tensor out = empty_pooled(m, x.options());
    pool_forward(x.data_ptr<float>(), plain_terms(m.c), out.data_ptr<float>(), m);
    ctx->save_for_backward({x});
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor x = ctx->get_saved_variables()[0];
    const at::Tensor g = grads[0].contiguous(kChannelsLast);
    const Map m = map_of(x);
    at::Tensor dx = at::empty(x.sizes(), x.options().memory_format(kChannelsLast));
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
    const Terms t = batch_norm_terms(mean, var, weight, bias, eps);
    at::Tensor out = empty_pooled(m, x.options());
    pool_forward(x.data_ptr<float>(), t, out.data_ptr<float>(), m);
    update_running_statistics(running_mean, running_var, mean, var, static_cast<double>(m.pixels()), factor);
    ctx->save_for_backward(with_saved_terms({x, weight}, t));
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor g = grads[0].contiguous(kChannelsLast);
    const Map m = map_of(x);
    Terms t = terms_from_saved(saved[2], saved[3], saved[4], saved[5]);
    const ChannelSums sums = norm_gradient_sums(x.data_ptr<float>(), g.data_ptr<float>(), m, t);
    add_gradient_terms(t, sums, saved[1], static_cast<double>(m.pixels()));
    at::Tensor dx = at::empty(x.sizes(), x.options().memory_format(kChannelsLast));
    input_gradient(x.data_ptr<float>(), g.data_ptr<float>(), dx.data_ptr<float>(), m, t);
    const auto [d_weight, d_bias] = norm_parameter_gradients(sums, saved[1]);
    return {dx, d_weight, d_bias, at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool fusable_block_tail(const at::Tensor& x) {
  return is_cpu_float(x) && x.dim() == 4 && x.size(2) >= 2 && x.size(3) >= 2 && x.is_contiguous(kChannelsLast);
}

at::Tensor relu_pool(const at::Tensor& x) { return ReluPool::apply(x); }

at::Tensor batch_norm_relu_pool(const at::Tensor& x, SyncBatchNormImplBase& norm) {
  const block_tail::RunningUpdate running = block_tail::running_update(norm);
  return BatchNormReluPool::apply(x, norm.weight, norm.bias, running.mean, running.var, running.factor,
                                  norm.options.eps());
}

}  // namespace ssdd::models
