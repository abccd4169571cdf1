// Every tensor in a file written by Python's torch.save, wherever it sits: a model's
// state_dict (an OrderedDict, with its _metadata attribute), a training checkpoint that holds
// one beside epochs, hyper-parameters, optimiser states and objects of any class (PyTorch
// Lightning, solo-learn). io::load_tensors reads only the dict of tensors ssdd writes, through
// LibTorch's unpickler, which refuses an OrderedDict and any class it does not know; this
// reader runs its own small pickle machine that builds tensors and keeps every other value
// as an opaque placeholder, so nothing of Python's is ever executed.
#pragma once
#include <string>

#include "ssdd/io/tensor_archive.h"

namespace ssdd::io {

// Tensors named by their dotted path of dict keys and list indices, e.g.
// "state_dict.backbone.conv1.weight" or "layer1.0.bn1.running_mean"; other values are
// skipped. The archive gets the checks load_tensors gives it (zip layout, pickle stack,
// each tensor within its record): DataError naming the file otherwise.
TensorMap load_tensors_anywhere(const std::string& path);
TensorMap tensors_anywhere_from_bytes(const std::string& bytes, const std::string& source_name);

}  // namespace ssdd::io
