#include "ssdd/io/tensor_archive.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_map>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/import_read.h>
#include <torch/csrc/jit/serialization/storage_context.h>
#include <torch/torch.h>

#include "ssdd/core/error.h"
#include "ssdd/io/archive_check.h"
#include "ssdd/core/hash.h"
#include "ssdd/io/atomic_file.h"
#include "ssdd/io/bounded_reader.h"
#include "ssdd/io/safe_read.h"

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
  // Where each record's bytes live, and how many there are. A storage found elsewhere was
  // made by the unpickler itself at the size the pickle claims, over a record it looked up
  // another way (miniz matches names regardless of case: fuzz/regressions/checkpoint).
  std::unordered_map<const void*, size_t> record_bytes;
  try {
    // What torch::pickle_load does, through the bounded reader, once the declared sizes
    // have been checked against the bytes that hold them (archive_check.h).
    check_zip_layout(bytes, source_name);
    caffe2::serialize::PyTorchStreamReader reader(std::make_shared<BoundedReader>(bytes));
    if (reader.hasRecord("data.pkl")) {
      const auto [pickle, size] = reader.getRecord("data.pkl");
      check_pickle(std::string_view(static_cast<const char*>(pickle.get()), size), source_name);
    }
    // The unpickler sizes each storage by the element count the pickle claims, over the
    // record's bytes, whatever their number (a heap overflow found by fuzz_distilled_set).
    // Storages made here from the records, at their true sizes, are used instead, and
    // every tensor is checked against its record below.
    auto storages = std::make_shared<torch::jit::DeserializationStorageContext>();
    for (const auto& name : reader.getAllRecords()) {
      if (name.rfind("data/", 0) != 0) continue;
      auto [data, size] = reader.getRecord(name);
      record_bytes[data.get()] = size;
      storages->addStorage(name.substr(5), c10::Storage(c10::Storage::use_byte_size_t(), size, std::move(data),
                                                        /*allocator=*/nullptr, /*resizable=*/false));
    }
    value = torch::jit::readArchiveAndTensors("data", /*pickle_prefix=*/"", /*tensor_prefix=*/"", /*type_resolver=*/{},
                                              /*obj_loader=*/{}, /*device=*/{}, reader,
                                              torch::jit::Unpickler::defaultTypeParser, storages);
  } catch (const DataError&) {
    throw;
  } catch (const std::exception& e) {
    throw DataError(source_name, "a torch.save archive of named tensors",
                    std::string("unreadable data (") + e.what() + ")");
  }
  if (!value.isGenericDict()) throw DataError(source_name, "a dict of tensors", value.tagKind());
  TensorMap out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString() || !entry.value().isTensor())
      throw DataError(source_name, "str -> Tensor entries", "another entry type");
    const at::Tensor& t = entry.value().toTensor();
    if (t.numel() > 0) {
      const auto record = record_bytes.find(t.storage().data());
      if (record == record_bytes.end() || !fits_in(t, record->second))
        throw DataError(source_name, "tensors within their stored bytes",
                        "'" + entry.key().toStringRef() + "' claiming more elements than its record holds");
    }
    out.emplace(entry.key().toStringRef(), entry.value().toTensor());
  }
  return out;
}

void save_tensors(const std::string& path, const TensorMap& tensors) {
  write_file_atomic(path, tensors_to_bytes(tensors));
}

TensorMap load_tensors(const std::string& path) {
  return tensors_from_bytes(read_regular_file(path, kMaxArchiveBytes, "a torch.save archive"), path);
}

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
