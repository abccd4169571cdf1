// SPEC section 2, steps 1-7, in order.
#include "ssdd/distill/outer_step.h"

#include "ssdd/distill/krr.h"

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

}  // namespace

at::Tensor outer_step(DistilledSet& set, ModelPool& pool, const RealBatch& real, torch::optim::Optimizer& optimizer,
                      double ridge, at::Generator& gen, long long iteration, const at::Tensor& set_rows) {
  auto rows = [&](const at::Tensor& all) { return set_rows.defined() ? all.index_select(0, set_rows) : all; };
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
    const at::Tensor feat_s = f.features(rows(set.view_images()));     // 3. distilled side, with graph
    const at::Tensor prediction = krr_predict(feat_s, feat_t, rows(set.view_targets()), ridge, iteration);  // 4-5
    loss = torch::mse_loss(prediction, real.targets);
    optimizer.zero_grad();                                              // 6. distilled parameters only
    loss.backward();
    optimizer.step();
  }
  at::Tensor inner_x, inner_y;                                          // 7. inner step on the updated set
  {
    torch::NoGradGuard no_grad;
    inner_x = rows(set.view_images());
    inner_y = rows(set.view_targets());
  }
  pool.inner_step(i, inner_x, inner_y);
  return loss.detach();
}

}  // namespace ssdd::distill
