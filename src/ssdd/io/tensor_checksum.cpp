#include "ssdd/io/tensor_checksum.h"

#include <optional>

#include "ssdd/core/error.h"
#include "ssdd/core/hash.h"

namespace ssdd::io {
namespace {

// The stored text, or nothing when the entry is not a text tensor (a damaged entry).
std::optional<std::string> stored_checksum(const at::Tensor& entry) {
  try {
    return tensor_to_text(entry);
  } catch (const Error&) {
    return std::nullopt;
  }
}

}  // namespace

std::string content_checksum(const TensorMap& tensors) {
  const TensorMap covered = without_checksum(tensors);
  // digest_tensors' lines (name, dtype, shape, hash of the bytes) leave "__meta__" out, as
  // comparisons of numbers need; a checksum covers it too, under a name no entry can take.
  std::string lines = digest_tensors(covered);
  if (const auto meta = covered.find("__meta__"); meta != covered.end())
    lines += digest_tensors({{"__meta__ (checksummed)", meta->second}});
  return "fnv1a64:" + hash_hex(lines);
}

void save_tensors_checksummed(const std::string& path, TensorMap tensors) {
  tensors[kChecksumEntry] = text_to_tensor(content_checksum(tensors));
  save_tensors(path, tensors);
}

ChecksumCheck check_checksum(const TensorMap& tensors) {
  const auto entry = tensors.find(kChecksumEntry);
  if (entry == tensors.end()) return ChecksumCheck::absent;
  return stored_checksum(entry->second) == content_checksum(tensors) ? ChecksumCheck::matches
                                                                      : ChecksumCheck::differs;
}

void verify_checksum(const TensorMap& tensors, const std::string& path) {
  if (check_checksum(tensors) != ChecksumCheck::differs) return;
  const auto stored = stored_checksum(tensors.at(kChecksumEntry));
  throw DataError(path, "contents matching their checksum " + stored.value_or("(unreadable entry)"),
                  content_checksum(tensors) + ": the file was damaged or edited after it was written");
}

TensorMap without_checksum(TensorMap tensors) {
  tensors.erase(kChecksumEntry);
  return tensors;
}

}  // namespace ssdd::io
