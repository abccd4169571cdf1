// Distilled-set files (distilled.pt: a torch.save archive of named tensors plus metadata),
// loaded as `ssdd evaluate` loads them, and decoded into their views and targets.
#include "fuzz_support.h"

#include <torch/torch.h>
#include "ssdd/distill/distilled_set.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssdd;
  const std::string path = fuzz::Scratch::get().file("input-distilled.pt", fuzz::as_string(data, size));
  fuzz::accept_only_ssdd_errors([&] {
    torch::NoGradGuard no_grad;
    auto set = distill::DistilledSet::load(path);
    (void)set.storage();
    const at::Tensor x = set.view_images();
    const at::Tensor y = set.view_targets();
    if (x.size(0) != y.size(0)) std::abort();  // a loaded set pairs every view with a target
  });
  return 0;
}
