// SPEC section 2, steps 1-7, in order.
#include "ssdd/distill/outer_step.h"

#include <chrono>

#include "ssdd/core/lap_clock.h"
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
  PhaseClock(StepPhases* phases, c10::Device device) : phases_(phases), clock_(device) {}
  void lap(double StepPhases::*phase) {
    if (phases_) phases_->*phase += clock_.lap(/*synchronise=*/true);
  }

 private:
  StepPhases* phases_;
  LapClock clock_;
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
  real.views = static_cast<int64_t>(source.views.size());
  std::vector<at::Tensor> targets;
  for (const auto& r : source.view_targets) targets.push_back(r.index_select(0, index));
  real.targets = torch::cat(targets);
  if (source.one_view_each) {
    const at::Tensor rows = upload(random_view_rows(source.batch, source.views.size(), gen), device);
    real.images = real.images.index_select(0, rows);
    real.targets = real.targets.index_select(0, rows);
    real.views = 1;
  }
  return real;
}

RealBatch shard_of(const RealBatch& real, int64_t shard, int64_t shards) {
  if (shards == 1) return real;
  const int64_t n = real.images.size(0) / real.views;
  const int64_t begin = shard * n / shards, end = (shard + 1) * n / shards;
  std::vector<at::Tensor> rows;
  for (int64_t t = 0; t < real.views; ++t) rows.push_back(torch::arange(t * n + begin, t * n + end, torch::kLong));
  const at::Tensor index = upload(torch::cat(rows), real.images.device());
  return {real.images.index_select(0, index), real.targets.index_select(0, index), real.views};
}

namespace {

at::Tensor picked_rows(const at::Tensor& all, const OuterStepOptions& options) {
  return options.set_rows.defined() ? all.index_select(0, options.set_rows) : all;
}

// Steps 2-6 up to the backward: model i matched against `real`; the gradient of
// loss * weight accumulates into the distilled set's. Returns the loss, detached.
at::Tensor match_and_backward(DistilledSet& set, models::EncoderImpl& f, const RealBatch& real, double weight,
                              const OuterStepOptions& options, KernelHealth* health, PhaseClock& clock) {
  auto rows = [&](const at::Tensor& all) { return picked_rows(all, options); };
  f.eval();
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
  krr.health = health;
  const at::Tensor prediction = krr_predict(feat_s, feat_t, rows(set.view_targets()), krr);  // 4-5
  const at::Tensor loss = torch::mse_loss(prediction, real.targets);
  clock.lap(&StepPhases::regression);
  (weight == 1.0 ? loss : loss * weight).backward();                  // 6. distilled parameters only
  return loss.detach();
}

// The distilled set's gradients, summed across the ranks, with the shards' statistics.
void sum_across_ranks(train::ProcessGroup& group, torch::optim::Optimizer& optimizer, at::Tensor& shard_stats) {
  train::sum_gradients(group, optimizer);
  std::vector<at::Tensor> stats{shard_stats};
  group.all_reduce_sum(stats);
}

void scale_and_measure_gradient(torch::optim::Optimizer& optimizer, const OuterStepOptions& options) {
  if (!options.gradient_norm && options.gradient_scale == 1.0) return;
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> norms;
  for (auto& grad : train::gradients_of(optimizer)) {
    if (options.gradient_scale != 1.0) grad.mul_(options.gradient_scale);
    norms.push_back(grad.norm());
  }
  if (options.gradient_norm) *options.gradient_norm = norms.empty() ? torch::zeros({}) : torch::stack(norms).norm();
}

// Step 6's update and step 7: the AdamW step (after the gradient's norm), then one inner
// step of each own shard's model on the updated set.
void update_and_train_inner(DistilledSet& set, ModelPool& pool, torch::optim::Optimizer& optimizer,
                            const std::vector<int64_t>& models, const std::vector<int64_t>& own,
                            const OuterStepOptions& options, PhaseClock& clock) {
  scale_and_measure_gradient(optimizer, options);
  optimizer.step();
  clock.lap(&StepPhases::backward_update);
  at::Tensor inner_x, inner_y;
  {
    torch::NoGradGuard no_grad;
    inner_x = picked_rows(set.view_images(), options);
    inner_y = picked_rows(set.view_targets(), options);
  }
  for (int64_t s : own) pool.inner_step(models[static_cast<size_t>(s)], inner_x, inner_y);
  clock.lap(&StepPhases::inner_step);
}

std::vector<int64_t> every_shard(int64_t shards) {
  std::vector<int64_t> all(static_cast<size_t>(shards));
  for (int64_t s = 0; s < shards; ++s) all[static_cast<size_t>(s)] = s;
  return all;
}

}  // namespace

at::Tensor outer_step(DistilledSet& set, ModelPool& pool, const RealBatch& real, torch::optim::Optimizer& optimizer,
                      at::Generator& gen, const OuterStepOptions& options) {
  PhaseClock clock(options.phases, real.images.device());
  const int64_t shards = pool.shards();
  std::vector<int64_t> models;                                          // 1. a pool model per shard
  for (int64_t s = 0; s < shards; ++s) models.push_back(pool.sample(gen, s));
  const std::vector<int64_t> own = options.own_shards.empty() ? every_shard(shards) : options.own_shards;
  optimizer.zero_grad();
  // Per shard, on the device (NCCL reduces nothing else): its loss and kernel condition,
  // zero where another rank computes it, so the sum across ranks is exact.
  at::Tensor shard_stats = torch::zeros({2, shards}, real.images.options().dtype(torch::kDouble));
  // S = 1 in one process is KRR-ST's step: weight 1, the batch whole, the loss and condition
  // as computed.
  for (int64_t s : own) {
    KernelHealth health;
    const at::Tensor loss =
        match_and_backward(set, pool.features(models[static_cast<size_t>(s)]), shard_of(real, s, shards),
                           1.0 / static_cast<double>(shards), options, options.kernel_health ? &health : nullptr, clock);
    shard_stats[0][s].copy_(loss);
    if (health.condition.defined()) shard_stats[1][s].copy_(health.condition);
    if (options.kernel_health) *options.kernel_health = health;
  }
  if (options.group) {
    const auto start = std::chrono::steady_clock::now();
    sum_across_ranks(*options.group, optimizer, shard_stats);
    if (options.collective_seconds)
      *options.collective_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (options.kernel_health) options.kernel_health->condition = shard_stats[1].max();
  update_and_train_inner(set, pool, optimizer, models, own, options, clock);
  return shard_stats[0].mean();
}

}  // namespace ssdd::distill
