// Checkpoints that survive a kill at any moment: written atomically, checksummed,
// and the previous good one kept, so a damaged newest file falls back to it.
#pragma once
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "ssdd/io/tensor_archive.h"

namespace ssdd::train {

struct Checkpoint {
  io::TensorMap tensors;  // model weights, optimiser state, RNG state, ...
  nlohmann::json meta;    // counters and anything else small
};

// Files: <dir>/checkpoint.ckpt (newest) and <dir>/checkpoint.prev.ckpt.
void save_checkpoint(const std::string& dir, const Checkpoint& checkpoint);

// The newest checkpoint that passes its checksum, or nothing. `note` (optional)
// receives a line saying which file was used or why one was skipped.
std::optional<Checkpoint> load_checkpoint(const std::string& dir, std::string* note = nullptr);

// Container bytes <-> checkpoint; exposed for tests and fuzzing. Throws DataError on
// a bad magic, length or checksum.
std::string checkpoint_to_bytes(const Checkpoint& checkpoint);
Checkpoint checkpoint_from_bytes(const std::string& bytes, const std::string& source_name);

}  // namespace ssdd::train
