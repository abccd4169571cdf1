// Evaluation pretraining (SPEC 2, last item; SPEC 8): a fresh network of a zoo
// architecture plus a linear regression head (feature_dim -> d) trained on a distilled
// set's decoded pairs by mean squared error. KRR-ST's recipe: SGD lr 0.1, momentum 0.9,
// weight decay 1e-3, batch 256, no augmentation, constant learning rate.
//
// Weight decay: the paper picks it by budget size (its Table 5), which we do not have;
// the default is KRR-ST's 1e-3 for every size and the option is there to set it.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/nn/modules/linear.h>

#include "ssdd/evaluate/grid_options.h"
#include "ssdd/io/tensor_archive.h"
#include "ssdd/models/encoder.h"

namespace ssdd::distill {
struct SetFile;
}

namespace ssdd::evaluate {

struct PretrainOptions {
  std::string arch = "convnet:64-64-64";  // zoo spec
  PretrainSchedule schedule;              // epochs or steps, batch, lr, weight decay, precision (grid_options.h)
  double momentum = 0.9;
  uint64_t seed = 0;           // network init (torch::manual_seed) and batch order
  bool quiet = true;           // progress lines only for a run longer than train::kQuietRunSeconds
  std::string label;           // names the run in progress lines (set, arch, seed); empty: the arch
  std::string checkpoint_dir;  // empty: none; else fit's resumable checkpoints
  c10::Device device = c10::Device(c10::kCPU);
  std::function<void(const std::string&)> log;  // progress lines
};

struct Pretrained {
  models::Encoder encoder;      // eval mode, on the options' device
  torch::nn::Linear head{nullptr};  // feature_dim -> d, eval mode
  std::vector<double> loss;     // mean MSE of each epoch
  int64_t steps = 0;            // SGD steps taken (0 for a network loaded from a file)
  double seconds = 0;           // training wall time

  // h(F(x)): the student's predicted representation of a normalised batch.
  at::Tensor predict(const at::Tensor& x) const { return head.ptr()->forward(encoder->features(x)); }
  // Weights as "encoder.*" and "head.*" (a torch.load-able archive once saved).
  io::TensorMap state() const;
};

// A fresh, seeded encoder + head for `shape` and target dimension `d` (the untrained
// starting point; "none" is this encoder without training).
Pretrained fresh_network(const std::string& arch, const models::ImageShape& shape, int64_t d, uint64_t seed,
                         c10::Device device);

// Trains on images (n x C x H x W, normalised) and targets (n x d). Both are detached
// first; nothing flows back into the caller's tensors.
Pretrained pretrain(const at::Tensor& images, const at::Tensor& targets, const PretrainOptions& options);

// Every view of the set is one training pair (SPEC 4: T*m pairs).
Pretrained pretrain_on_set(const distill::SetFile& set, const PretrainOptions& options);

// Weights file: the state plus the loss history, read back by load_pretrained.
void save_pretrained(const std::string& path, const Pretrained& p);
Pretrained load_pretrained(const std::string& path, const std::string& arch, const models::ImageShape& shape,
                           int64_t d, c10::Device device);

}  // namespace ssdd::evaluate
