// One training step of `ssdd teacher`, in the pieces that both the training loop and the
// step benchmark (`ssdd bench teacher`) run, so the benchmark times the production code.
#pragma once
#include <memory>
#include <utility>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <torch/optim/sgd.h>

#include "ssdd/data/registry.h"
#include "ssdd/data/ssl_augment.h"
#include "ssdd/teacher/barlow_twins.h"
#include "ssdd/teacher/teacher.h"
#include "ssdd/train/distributed.h"

namespace ssdd::teacher {

// A batch of uint8 images (N x C x H x W, any device) -> two augmented views in [0, 1].
std::pair<at::Tensor, at::Tensor> teacher_views(const at::Tensor& batch_uint8, const data::SslAugment& augment,
                                                at::Generator& gen);

// The embeddings of two views, each normalised and through the model. In a job of several ranks
// (`group`), the views are this rank's rows of the global batch: the embeddings of every rank are
// gathered, so that each rank holds the global batch's. The forward runs in `precision`
// (TeacherConfig::precision); the embeddings come back fp32.
std::pair<at::Tensor, at::Tensor> teacher_embeddings(BarlowTwins& model, const at::Tensor& view1,
                                                     const at::Tensor& view2, const data::Normalization& norm,
                                                     Precision precision, train::ProcessGroup* group = nullptr);

// The Barlow Twins loss of two views: teacher_embeddings, then compared.
at::Tensor teacher_views_loss(BarlowTwins& model, const at::Tensor& view1, const at::Tensor& view2,
                              const data::Normalization& norm, const TeacherConfig& config,
                              train::ProcessGroup* group = nullptr);

// SGD at the config's learning rate (scaled linearly with the batch from 256); with LARS the
// weight decay is left to the LARS transform (teacher_after_backward), so SGD's is 0.
std::unique_ptr<torch::optim::SGD> make_teacher_optimizer(const std::vector<at::Tensor>& params,
                                                          const TeacherConfig& config);
double teacher_base_lr(const TeacherConfig& config);

// Between backward() and the optimiser's step: LARS's trust ratios (nothing for sgd).
void teacher_after_backward(const std::vector<at::Tensor>& params, const TeacherConfig& config);

}  // namespace ssdd::teacher
