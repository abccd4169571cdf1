// Converting training state (module weights, optimiser state, RNG state) to and from
// named tensors, so checkpoints and weight files are plain tensor archives.
#pragma once
#include <string>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "ssdd/io/tensor_archive.h"

namespace ssdd::train {

// Parameters and buffers under their dotted names (as PyTorch's state_dict), each
// prefixed with `prefix` (e.g. "backbone.").
io::TensorMap module_state(const torch::nn::Module& module, const std::string& prefix = "");

// Copies the entries under `prefix` into the module; throws DataError (naming `source`)
// for a missing entry or a shape mismatch, so a wrong file never half-loads silently.
void load_module_state(torch::nn::Module& module, const io::TensorMap& state, const std::string& source,
                       const std::string& prefix = "");

// LibTorch's own optimiser serialisation, carried as a uint8 tensor.
at::Tensor optimizer_state(const torch::optim::Optimizer& optimizer);
void load_optimizer_state(torch::optim::Optimizer& optimizer, const at::Tensor& state);

}  // namespace ssdd::train
