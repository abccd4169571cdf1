// IDX images and labels (MNIST, Fashion-MNIST), plain or gzip: the bytes as an image file,
// as a label file, and as both halves of a pair.
#include "fuzz_support.h"
#include "ssdd/data/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssdd;
  const std::string path = fuzz::Scratch::get().file("input-idx", fuzz::as_string(data, size));
  fuzz::accept_only_ssdd_errors([&] { data::read_idx_images(path); });
  fuzz::accept_only_ssdd_errors([&] { data::read_idx_labels(path); });
  fuzz::accept_only_ssdd_errors([&] { data::read_idx_pair(path, path); });
  return 0;
}
