// An in-memory image data set: what every reader returns and every stage consumes.
#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace ssdd::data {

struct ImageSet {
  at::Tensor images;  // uint8, N x C x H x W, contiguous, on CPU
  at::Tensor labels;  // int64, N; undefined when the source has no labels
  int64_t num_classes = 0;
  std::vector<std::string> class_names;  // may be empty

  int64_t size() const { return images.defined() ? images.size(0) : 0; }
  int64_t channels() const { return images.size(1); }
  int64_t height() const { return images.size(2); }
  int64_t width() const { return images.size(3); }
  bool has_labels() const { return labels.defined(); }
};

// Per-channel statistics used to normalise uint8 images to float: (x/255 - mean) / std.
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
};

}  // namespace ssdd::data
