// SPEC section 2, steps 1-7, in order.
#include "ssdd/distill/outer_step.h"

#include <chrono>

#include <torch/cuda.h>

#include "ssdd/core/upload.h"
#include "ssdd/data/crop_flip.h"

namespace ssdd::distill {
namespace {

// Parameters of the sampled model take no gradient in the outer step: nothing reads
// it, and skipping it saves the weight-gradient half of the backward pass.
class FrozenParameters {
 public:
  explicit FrozenParameters(torch::nn::Module& module) : params_(module.parameters()) {
    for (auto& p : params_) p.requires_grad_(false);
  }
  ~FrozenParameters() {
    for (auto& p : params_) p.requires_grad_(true);
  }

 private:
  std::vector<at::Tensor> params_;
};

// Adds the time since the last lap to a phase; a no-op unless phases are asked for.
class PhaseClock {
 public:
  PhaseClock(StepPhases* phases, c10::Device device) : phases_(phases), cuda_(device.is_cuda()) { last_ = now(); }
  void lap(double StepPhases::*phase) {
    if (!phases_) return;
    if (cuda_) torch::cuda::synchronize();
    const auto t = now();
    phases_->*phase += std::chrono::duration<double>(t - last_).count();
    last_ = t;
  }

 private:
  static std::chrono::steady_clock::time_point now() { return std::chrono::steady_clock::now(); }
  StepPhases* phases_;
  bool cuda_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

at::Tensor random_view_rows(int64_t count, size_t views, at::Generator& gen) {
  const at::Tensor view = torch::randint(0, static_cast<int64_t>(views), {count}, gen, torch::kLong);
  return view * count + torch::arange(count, torch::kLong);
}

RealBatch draw_real_batch(const RealBatchSource& source, at::Generator& gen) {
  const c10::Device device = source.pixels.device();
  const at::Tensor index = upload(torch::randint(0, source.pixels.size(0), {source.batch}, gen, torch::kLong), device);
  const at::Tensor pixels = source.pixels.index_select(0, index);
  RealBatch real;
  if (source.crop_flip_teacher) {
    real.images = data::normalize(data::random_crop_flip(pixels, 4, gen), source.norm);
    torch::NoGradGuard no_grad;
    real.targets = (*source.crop_flip_teacher)->features(real.images);
    return real;
  }
  real.images = data::apply_views(data::normalize(pixels, source.norm), source.views);
  std::vector<at::Tensor> targets;
  for (const auto& r : source.view_targets) targets.push_back(r.index_select(0, index));
  real.targets = torch::cat(targets);
  if (source.one_view_each) {
    const at::Tensor rows = upload(random_view_rows(source.batch, source.views.size(), gen), device);
    real.images = real.images.index_select(0, rows);
    real.targets = real.targets.index_select(0, rows);
  }
  return real;
}

at::Tensor outer_step(DistilledSet& set, ModelPool& pool, const RealBatch& real, torch::optim::Optimizer& optimizer,
                      at::Generator& gen, const OuterStepOptions& options) {
  const at::Tensor& rows_picked = options.set_rows;
  auto rows = [&](const at::Tensor& all) { return rows_picked.defined() ? all.index_select(0, rows_picked) : all; };
  PhaseClock clock(options.phases, real.images.device());
  const int64_t i = pool.sample(gen);                                  // 1. a pool model, eval mode
  models::EncoderImpl& f = pool.features(i);
  f.eval();
  at::Tensor loss;
  {
    FrozenParameters frozen(f);
    at::Tensor feat_t;
    {
      torch::NoGradGuard no_grad;                                       // 2-3. real side: no graph
      feat_t = f.features(real.images);
    }
    clock.lap(&StepPhases::real_forward);
    const at::Tensor feat_s = f.features(rows(set.view_images()));     // 3. distilled side, with graph
    clock.lap(&StepPhases::distilled_forward);
    KrrOptions krr;
    krr.ridge = options.ridge;
    krr.iteration = options.iteration;
    krr.float64 = options.krr_float64;
    krr.health = options.kernel_health;
    const at::Tensor prediction = krr_predict(feat_s, feat_t, rows(set.view_targets()), krr);  // 4-5
    loss = torch::mse_loss(prediction, real.targets);
    clock.lap(&StepPhases::regression);
    optimizer.zero_grad();                                              // 6. distilled parameters only
    loss.backward();
    if (options.gradient_norm || options.gradient_scale != 1.0) {
      torch::NoGradGuard no_grad;
      std::vector<at::Tensor> norms;
      for (auto& group : optimizer.param_groups())
        for (auto& p : group.params())
          if (p.grad().defined()) {
            if (options.gradient_scale != 1.0) p.mutable_grad().mul_(options.gradient_scale);
            norms.push_back(p.grad().norm());
          }
      if (options.gradient_norm) *options.gradient_norm = norms.empty() ? torch::zeros({}) : torch::stack(norms).norm();
    }
    optimizer.step();
    clock.lap(&StepPhases::backward_update);
  }
  at::Tensor inner_x, inner_y;                                          // 7. inner step on the updated set
  {
    torch::NoGradGuard no_grad;
    inner_x = rows(set.view_images());
    inner_y = rows(set.view_targets());
  }
  pool.inner_step(i, inner_x, inner_y);
  clock.lap(&StepPhases::inner_step);
  return loss.detach();
}

}  // namespace ssdd::distill
