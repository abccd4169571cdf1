// Checkpoints. A random payload rarely passes the checksum, so the first byte chooses: even,
// the bytes are a whole checkpoint file; odd, the rest is a payload, wrapped in a valid
// header (magic, length, CRC-32) so that the archive and metadata readers behind it are
// reached.
#include <zlib.h>

#include "fuzz_support.h"
#include "ssdd/train/checkpoint.h"

namespace {

std::string wrapped(const std::string& payload) {
  std::string out("SSDDCKPT");
  auto put_u64 = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put_u64(payload.size());
  put_u64(crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(payload.data()), static_cast<uInt>(payload.size())));
  return out + payload;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssdd;
  if (size == 0) return 0;
  const std::string rest = fuzz::as_string(data + 1, size - 1);
  const std::string bytes = (data[0] & 1) ? wrapped(rest) : rest;
  fuzz::accept_only_ssdd_errors([&] { train::checkpoint_from_bytes(bytes, "fuzz.ckpt"); });
  return 0;
}
