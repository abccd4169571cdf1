#include "ssdd/train/checkpoint.h"

#include <zlib.h>

#include <cstdio>
#include <cstring>

#include "ssdd/core/error.h"
#include "ssdd/io/atomic_file.h"

namespace ssdd::train {
namespace {

constexpr char kMagic[8] = {'S', 'S', 'D', 'D', 'C', 'K', 'P', 'T'};
constexpr size_t kHeader = 8 + 8 + 8;  // magic, payload length, CRC-32 (widened)

uint64_t crc_of(const char* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large payloads in pieces.
  while (size > 0) {
    const uInt piece = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), piece);
    data += piece;
    size -= piece;
  }
  return crc;
}

void put_u64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t get_u64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string newest(const std::string& dir) { return dir + "/checkpoint.ckpt"; }
std::string previous(const std::string& dir) { return dir + "/checkpoint.prev.ckpt"; }

}  // namespace

std::string checkpoint_to_bytes(const Checkpoint& checkpoint) {
  io::TensorMap all = checkpoint.tensors;
  all["__meta__"] = io::text_to_tensor(checkpoint.meta.dump());
  const std::string payload = io::tensors_to_bytes(all);
  std::string out(kMagic, sizeof kMagic);
  put_u64(out, payload.size());
  put_u64(out, crc_of(payload.data(), payload.size()));
  out += payload;
  return out;
}

Checkpoint checkpoint_from_bytes(const std::string& bytes, const std::string& source_name) {
  if (bytes.size() < kHeader || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    throw DataError(source_name, "an ssdd checkpoint (magic SSDDCKPT)", "another or a truncated file");
  const uint64_t length = get_u64(bytes.data() + 8);
  if (length != bytes.size() - kHeader)
    throw DataError(source_name, std::to_string(length) + " payload bytes",
                    std::to_string(bytes.size() - kHeader) + " (truncated or padded)");
  if (crc_of(bytes.data() + kHeader, length) != get_u64(bytes.data() + 16))
    throw DataError(source_name, "a payload matching its checksum", "a damaged payload");
  Checkpoint checkpoint;
  checkpoint.tensors = io::tensors_from_bytes(bytes.substr(kHeader), source_name);
  auto meta = checkpoint.tensors.find("__meta__");
  if (meta == checkpoint.tensors.end()) throw DataError(source_name, "a __meta__ entry", "none");
  try {
    checkpoint.meta = nlohmann::json::parse(io::tensor_to_text(meta->second));
  } catch (const nlohmann::json::exception& e) {
    throw DataError(source_name, "JSON metadata", e.what());
  }
  checkpoint.tensors.erase(meta);
  return checkpoint;
}

void save_checkpoint(const std::string& dir, const Checkpoint& checkpoint) {
  io::make_dirs(dir);
  const std::string bytes = checkpoint_to_bytes(checkpoint);
  // Keep the last good checkpoint until the new one is fully on disk.
  if (io::file_exists(newest(dir)) && std::rename(newest(dir).c_str(), previous(dir).c_str()) != 0)
    throw IoError(newest(dir), "cannot rotate the previous checkpoint");
  io::write_file_atomic(newest(dir), bytes);
}

std::optional<Checkpoint> load_checkpoint(const std::string& dir, std::string* note) {
  std::string skipped;
  for (const std::string& path : {newest(dir), previous(dir)}) {
    if (!io::file_exists(path)) continue;
    try {
      Checkpoint c = checkpoint_from_bytes(io::read_file(path), path);
      if (note) *note = skipped + "resumed from " + path;
      return c;
    } catch (const DataError& e) {
      skipped += std::string("skipped damaged checkpoint (") + e.what() + "); ";
    }
  }
  if (note) *note = skipped.empty() ? "no checkpoint in " + dir : skipped + "no usable checkpoint";
  return std::nullopt;
}

}  // namespace ssdd::train
