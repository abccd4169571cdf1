// Named tensors on disk in the format of torch.save, so Python reads them with
// `torch.load(path)` (a dict of str -> Tensor) and C++ with load_tensors().
#pragma once
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

namespace ssdd::io {

using TensorMap = std::map<std::string, at::Tensor>;

// Writes atomically; tensors are moved to CPU and made contiguous first.
void save_tensors(const std::string& path, const TensorMap& tensors);
TensorMap load_tensors(const std::string& path);

// In-memory versions (used by checkpoints, which add a checksum around the bytes).
std::string tensors_to_bytes(const TensorMap& tensors);
TensorMap tensors_from_bytes(const std::string& bytes, const std::string& source_name);

// Text (e.g. JSON metadata) carried inside an archive as a uint8 tensor, which
// Python decodes with `bytes(t.tolist()).decode()` or `t.numpy().tobytes().decode()`.
at::Tensor text_to_tensor(const std::string& text);
std::string tensor_to_text(const at::Tensor& t);

// One line per tensor, "name dtype [shape] hash" (FNV-1a of the raw bytes), in name order,
// leaving out the "__meta__" entry (it holds wall times): two runs that computed the
// same numbers give the same lines (`ssdd info --digest`, scripts/kill-anywhere.sh).
std::string digest_tensors(const TensorMap& tensors);

}  // namespace ssdd::io
