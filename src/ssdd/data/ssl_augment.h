// The two-view augmentation of the SSL literature (SimCLR/BYOL/Barlow Twins recipe, CIFAR
// sizes), applied to a whole batch at once on the tensor's device, so the Barlow Twins
// teacher never loops over images.
//
// Per view, in this order:
//   1. random resized crop (area scale, aspect ratio) + horizontal flip, one batched
//      affine_grid + bilinear grid_sample, output at the input resolution;
//   2. colour jitter with probability jitter_p, fixed order brightness -> contrast ->
//      saturation -> hue (torchvision draws a random order; we do not). Hue is shifted in
//      HSV space (RGB->HSV->RGB in batched ops), matching torchvision's adjust_hue;
//   3. random grayscale (ITU-R 601 luma, as torchvision);
//   4. gaussian blur (separable, per-image sigma; off by default at CIFAR sizes);
//   5. solarization (pixels >= threshold become 1 - x).
// One-channel images get the grayscale-safe subset: crop, flip, brightness and contrast,
// blur, solarization. Input and output: float N x C x H x W in [0, 1], before normalisation.
//
// Randomness: every random number comes from the torch::Generator passed in, which must be
// a CPU generator (e.g. at::make_generator<at::CPUGeneratorImpl>(seed)); the parameters are
// drawn on the CPU (a fixed number per image, whatever the options) and moved to the data's
// device, so a seed reproduces a view on CPU and on CUDA alike.
#pragma once
#include <cstdint>
#include <utility>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace ssdd::data {

struct SslViewOptions {
  // Random resized crop: area fraction in [scale_min, scale_max], aspect ratio (w/h) drawn
  // log-uniformly in [ratio_min, ratio_max]; 10 tries, else the whole image.
  double scale_min = 0.2;
  double scale_max = 1.0;
  double ratio_min = 3.0 / 4.0;
  double ratio_max = 4.0 / 3.0;
  double flip_p = 0.5;
  // Colour jitter: factors uniform in [max(0, 1-b), 1+b] etc., hue shift in [-hue, hue]
  // turns; saturation and hue only act on RGB.
  double jitter_p = 0.8;
  double brightness = 0.4;
  double contrast = 0.4;
  double saturation = 0.2;
  double hue = 0.1;
  double grayscale_p = 0.2;  // RGB only
  double blur_p = 0.0;       // Barlow Twins at 224px: 1.0 / 0.1; CIFAR recipes: off
  double blur_sigma_min = 0.1;
  double blur_sigma_max = 2.0;
  int64_t blur_kernel = 0;  // odd side; 0 = about 10% of the image side (at least 3)
  double solarize_p = 0.0;
  double solarize_threshold = 0.5;
};

// Barlow Twins' asymmetric pair: identical except that the second view is solarized with
// probability 0.2 (the first never).
struct SslAugmentOptions {
  SslViewOptions view1;
  SslViewOptions view2 = [] {
    SslViewOptions v;
    v.solarize_p = 0.2;
    return v;
  }();
};

class SslAugment {
 public:
  // channels: 1 or 3 (else ssdd::ConfigError); options are checked here too.
  SslAugment(const SslAugmentOptions& options, int64_t channels);

  // view(x, 0, gen) and view(x, 1, gen), in that order.
  std::pair<at::Tensor, at::Tensor> two_views(const at::Tensor& x, at::Generator& gen) const;
  // which: 0 = view1, 1 = view2. x: floating N x C x H x W in [0, 1] on any device.
  at::Tensor view(const at::Tensor& x, int which, at::Generator& gen) const;

  const SslAugmentOptions& options() const { return options_; }
  int64_t channels() const { return channels_; }

 private:
  SslAugmentOptions options_;
  int64_t channels_;
};

}  // namespace ssdd::data
