// CIFAR binary records: the bytes as a CIFAR-10 batch (1 label byte per record) and as a
// CIFAR-100 file (coarse and fine label bytes).
#include "fuzz_support.h"
#include "ssdd/data/cifar.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssdd;
  const std::string path = fuzz::Scratch::get().file("input-cifar.bin", fuzz::as_string(data, size));
  fuzz::accept_only_ssdd_errors([&] { data::read_cifar_records({path}, 1, 0); });
  fuzz::accept_only_ssdd_errors([&] { data::read_cifar_records({path}, 2, 1); });
  return 0;
}
