// PNG and JPEG decoding (the image-folder layouts: Tiny ImageNet, CUB-200, Stanford Dogs,
// the CIFAR-10 JPEG archive), at the natural channel count and converted to 1 and 3.
#include "fuzz_support.h"
#include "ssdd/io/image_decode.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ssdd;
  for (int channels : {0, 1, 3})
    fuzz::accept_only_ssdd_errors([&] {
      const io::DecodedImage image = io::decode_image(data, size, channels);
      // What the readers rely on: the buffer holds exactly height x width x channels bytes.
      if (image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels) std::abort();
    });
  return 0;
}
