// Files a user hands to `ssdd teacher import`: any torch.save archive (a model's state_dict, a
// training checkpoint), read by io/pickle_tensors.h's own pickle machine, then mapped onto
// the zoo's ResNet18 as the import maps it.
#include "fuzz_support.h"
#include "ssdd/io/pickle_tensors.h"
#include "ssdd/teacher/import.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssdd;
  const std::string bytes = fuzz::as_string(data, size);
  fuzz::accept_only_ssdd_errors([&] {
    for (const auto& [name, tensor] : io::tensors_anywhere_from_bytes(bytes, "fuzz.pt"))
      if (tensor.numel() > 0) (void)tensor.sum().item<double>();  // every element readable
  });
  fuzz::accept_only_ssdd_errors([&] {
    const std::string path = fuzz::Scratch::get().file("input-state-dict.pt", bytes);
    (void)teacher::map_resnet18_backbone(path);
  });
  return 0;
}
