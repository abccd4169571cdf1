#include "ssdd/data/identity.h"

#include <zlib.h>

#include <map>
#include <mutex>

#include "ssdd/core/hash.h"

namespace ssdd::data {
namespace {

// CRC-32 of a contiguous CPU tensor's bytes, fed to zlib in pieces its length type holds.
uint32_t crc_of(const at::Tensor& t, uint32_t crc) {
  if (!t.defined()) return crc;
  const at::Tensor c = t.contiguous();
  const auto* bytes = static_cast<const unsigned char*>(c.data_ptr());
  size_t left = static_cast<size_t>(c.nbytes());
  while (left > 0) {
    const uInt piece = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = static_cast<uint32_t>(crc32(crc, bytes, piece));
    bytes += piece;
    left -= piece;
  }
  return crc;
}

std::string describe(const ImageSet& set) {
  std::string text = "n=" + std::to_string(set.size());
  if (set.images.defined())
    for (int64_t d = 1; d < set.images.dim(); ++d) text += "x" + std::to_string(set.images.size(d));
  text += " classes=" + std::to_string(set.num_classes);
  text += " images=" + std::to_string(crc_of(set.images, 0));
  text += " labels=" + (set.has_labels() ? std::to_string(crc_of(set.labels, 0)) : std::string("none"));
  return text;
}

}  // namespace

std::string dataset_digest(const DatasetSplits& splits) {
  return hash_hex("ssdd data digest v1\ntrain " + describe(splits.train) + "\ntest " + describe(splits.test) + "\n");
}

std::string dataset_digest(const std::string& spec, const LoadOptions& opts) {
  static std::mutex mutex;
  static std::map<std::string, std::string> known;
  const std::string key = spec + "\n" + opts.data_dir + "\n" + std::to_string(opts.resolution) + "\n" +
                          std::to_string(opts.channels);
  {
    std::lock_guard<std::mutex> guard(mutex);
    if (auto it = known.find(key); it != known.end()) return it->second;
  }
  const std::string digest = dataset_digest(load_dataset(spec, opts));
  std::lock_guard<std::mutex> guard(mutex);
  known[key] = digest;
  return digest;
}

}  // namespace ssdd::data
