#include "ssdd/io/tensor_archive.h"

#include <cstring>

#include "ssdd/core/error.h"
#include "ssdd/core/hash.h"
#include "ssdd/io/atomic_file.h"

namespace ssdd::io {

std::string tensors_to_bytes(const TensorMap& tensors) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw Error("save_tensors: tensor '" + name + "' is undefined");
    dict.insert(name, tensor.detach().to(torch::kCPU).contiguous());
  }
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  return std::string(bytes.begin(), bytes.end());
}

TensorMap tensors_from_bytes(const std::string& bytes, const std::string& source_name) {
  c10::IValue value;
  try {
    value = torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
  } catch (const std::exception& e) {
    throw DataError(source_name, "a torch.save archive of named tensors",
                    std::string("unreadable data (") + e.what() + ")");
  }
  if (!value.isGenericDict()) throw DataError(source_name, "a dict of tensors", value.tagKind());
  TensorMap out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      throw DataError(source_name, "str -> Tensor entries", "another entry type");
    out.emplace(entry.key().toStringRef(), entry.value().toTensor());
  }
  return out;
}

void save_tensors(const std::string& path, const TensorMap& tensors) {
  write_file_atomic(path, tensors_to_bytes(tensors));
}

TensorMap load_tensors(const std::string& path) { return tensors_from_bytes(read_file(path), path); }

at::Tensor text_to_tensor(const std::string& text) {
  auto t = torch::empty({static_cast<int64_t>(text.size())}, torch::kUInt8);
  if (!text.empty()) std::memcpy(t.data_ptr<uint8_t>(), text.data(), text.size());
  return t;
}

std::string tensor_to_text(const at::Tensor& t) {
  const auto c = t.to(torch::kCPU).contiguous();
  if (c.scalar_type() != torch::kUInt8 || c.dim() != 1) throw Error("tensor_to_text: expected a 1-d uint8 tensor");
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

std::string digest_tensors(const TensorMap& tensors) {
  std::string out;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__meta__") continue;
    const auto c = tensor.to(torch::kCPU).contiguous();
    std::string shape;
    for (int64_t s : c.sizes()) shape += (shape.empty() ? "" : "x") + std::to_string(s);
    const std::string_view bytes(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size());
    out += name + " " + std::string(c.dtype().name()) + " [" + shape + "] " + hash_hex(bytes) + "\n";
  }
  return out;
}

}  // namespace ssdd::io
