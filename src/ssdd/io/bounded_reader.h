// Pieces the readers of torch.save archives share (tensor_archive.cpp, pickle_tensors.cpp):
// a zip reader that never reads past the bytes it was given, and the check that a tensor's
// elements lie inside its storage's record.
#pragma once
#include <algorithm>
#include <cstring>
#include <string_view>

#include <ATen/core/Tensor.h>
#include <caffe2/serialize/read_adapter_interface.h>

namespace ssdd::io {

// torch::pickle_load reads through LibTorch's VectorReader, which copies whatever range
// the zip reader asks for without a bounds check: an archive whose directory points past
// its end makes it read out of bounds (found by fuzz_checkpoint). This reader clips, so
// the zip reader sees a short read and reports a bad archive; it also reads the bytes in
// place instead of copying them into a vector first.
class BoundedReader final : public caffe2::serialize::ReadAdapterInterface {
 public:
  explicit BoundedReader(std::string_view bytes) : bytes_(bytes) {}
  size_t size() const override { return bytes_.size(); }
  size_t read(uint64_t pos, void* buf, size_t n, const char* /*what*/) const override {
    if (pos >= bytes_.size()) return 0;
    const size_t count = static_cast<size_t>(std::min<uint64_t>(n, bytes_.size() - pos));
    std::memcpy(buf, bytes_.data() + pos, count);
    return count;
  }

 private:
  std::string_view bytes_;
};

// The tensor's elements lie inside `bytes`, the true size of its storage's record.
// LibTorch's unpickler sets sizes and strides as the pickle says, unchecked. Overflow-safe.
inline bool fits_in(const at::Tensor& t, size_t bytes) {
  if (t.numel() == 0) return true;
  __int128 last = t.storage_offset();
  if (last < 0) return false;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (t.stride(d) < 0) return false;
    last += static_cast<__int128>(t.size(d) - 1) * t.stride(d);
  }
  return (last + 1) * static_cast<__int128>(t.element_size()) <= static_cast<__int128>(bytes);
}

}  // namespace ssdd::io
