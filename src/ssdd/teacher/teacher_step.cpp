#include "ssdd/teacher/teacher_step.h"

#include <torch/torch.h>

#include "ssdd/train/autocast.h"
#include "ssdd/train/autograd_collectives.h"
#include "ssdd/train/lars.h"

namespace ssdd::teacher {

std::pair<at::Tensor, at::Tensor> teacher_views(const at::Tensor& batch_uint8, const data::SslAugment& augment,
                                                at::Generator& gen) {
  return augment.two_views(batch_uint8.to(at::kFloat).div_(255.0), gen);
}

std::pair<at::Tensor, at::Tensor> teacher_embeddings(BarlowTwins& model, const at::Tensor& view1,
                                                     const at::Tensor& view2, const data::Normalization& norm,
                                                     Precision precision, train::ProcessGroup* group) {
  at::Tensor z1, z2;
  {
    const train::Autocast autocast(view1.device().type(), train::compute_dtype(precision));
    z1 = model->forward(data::normalize(view1, norm));
    z2 = model->forward(data::normalize(view2, norm));
  }
  // The loss standardises and correlates 1,024-2,048 columns: in fp32, as autocast would
  // leave a reduction of that size (a no-op for fp32 embeddings).
  z1 = z1.to(at::kFloat);
  z2 = z2.to(at::kFloat);
  if (group) {
    z1 = train::gather_rows(*group, z1);
    z2 = train::gather_rows(*group, z2);
  }
  return {z1, z2};
}

at::Tensor teacher_views_loss(BarlowTwins& model, const at::Tensor& view1, const at::Tensor& view2,
                              const data::Normalization& norm, const TeacherConfig& config,
                              train::ProcessGroup* group) {
  const auto [z1, z2] = teacher_embeddings(model, view1, view2, norm, config.precision, group);
  return barlow_twins_loss(z1, z2, config.lambda, config.loss_scale);
}

double teacher_base_lr(const TeacherConfig& config) {
  return config.lr * static_cast<double>(config.batch_size) / 256.0;
}

std::unique_ptr<torch::optim::SGD> make_teacher_optimizer(const std::vector<at::Tensor>& params,
                                                          const TeacherConfig& config) {
  // LARS = a gradient transform in front of SGD, which then must not decay again.
  const double decay = config.optimizer == Optimizer::sgd ? config.weight_decay : 0.0;
  return std::make_unique<torch::optim::SGD>(
      params, torch::optim::SGDOptions(teacher_base_lr(config)).momentum(config.momentum).weight_decay(decay));
}

void teacher_after_backward(const std::vector<at::Tensor>& params, const TeacherConfig& config) {
  if (config.optimizer != Optimizer::lars) return;
  train::lars_adapt_gradients(params, {config.weight_decay, config.lars_eta, /*exclude_bias_and_norm=*/true});
}

}  // namespace ssdd::teacher
