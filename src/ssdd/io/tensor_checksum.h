// A checksum carried inside a tensor archive, as a "__checksum__" text entry beside the
// tensors, so the file stays a plain dict for `torch.load`. The archive format checks only
// that the bytes parse; flipped bytes inside a tensor's data, or a tensor overwritten in
// place, still parse. The checksum catches both on load.
#pragma once
#include <string>

#include "ssdd/io/tensor_archive.h"

namespace ssdd::io {

inline constexpr char kChecksumEntry[] = "__checksum__";

// A 64-bit content hash over every entry but "__checksum__": names, dtypes, shapes and
// bytes, "__meta__" included. It hashes tensors, not the file's bytes, so the same tensors
// give the same value however the archive was laid out (re-saved by Python, say).
std::string content_checksum(const TensorMap& tensors);

// Sets the "__checksum__" entry over the others, then writes atomically.
void save_tensors_checksummed(const std::string& path, TensorMap tensors);

enum class ChecksumCheck { absent, matches, differs };
ChecksumCheck check_checksum(const TensorMap& tensors);

// DataError naming `path` when the entry is there and does not match (or is not text);
// a map without the entry (written before checksums) passes.
void verify_checksum(const TensorMap& tensors, const std::string& path);

// The map without its "__checksum__" entry: the checksum covers "__meta__", which holds
// wall times, so digests meant to compare numbers (`ssdd info --digest`) leave it out.
TensorMap without_checksum(TensorMap tensors);

}  // namespace ssdd::io
