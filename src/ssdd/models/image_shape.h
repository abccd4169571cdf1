// Image shapes in messages, and the check that images fit a network's input: a mismatch
// (a 1-channel teacher on 3-channel data) is a ConfigError naming both shapes, before
// LibTorch meets it deep inside a convolution.
#pragma once
#include <string>

#include "ssdd/core/error.h"
#include "ssdd/models/encoder.h"

namespace ssdd::models {

// "3x32x32" (channels x height x width)
inline std::string shape_text(const ImageShape& s) {
  return std::to_string(s.channels) + "x" + std::to_string(s.height) + "x" + std::to_string(s.width);
}

// The shape of each image of an N x C x H x W batch.
inline ImageShape shape_of_images(const torch::Tensor& images) {
  return {images.size(1), images.size(2), images.size(3)};
}

inline bool same_shape(const ImageShape& a, const ImageShape& b) {
  return a.channels == b.channels && a.height == b.height && a.width == b.width;
}

// E.g. check_image_shape("--data", "cifar10 holds", images, "the teacher in t/ takes", teacher):
// "cifar10 holds 3x32x32 images, but the teacher in t/ takes 1x28x28 images".
// `channels_only`: the network adapts to the image size (a probe's pooled features).
inline void check_image_shape(const std::string& where, const std::string& found_what, const ImageShape& found,
                              const std::string& expected_what, const ImageShape& expected,
                              bool channels_only = false) {
  const bool fits = channels_only ? found.channels == expected.channels : same_shape(found, expected);
  if (!fits)
    throw ConfigError(where, found_what + " " + shape_text(found) + " images, but " + expected_what + " " +
                                 shape_text(expected) + " images");
}

}  // namespace ssdd::models
