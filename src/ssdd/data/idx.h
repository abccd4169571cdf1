// IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed; gzip is recognised by
// its magic bytes (1f 8b), not by the file name.
#pragma once
#include <string>

#include <ATen/core/Tensor.h>

#include "ssdd/data/dataset.h"

namespace ssdd::data {

// Magic 0x00000803: N x rows x cols unsigned bytes. Returns images N x 1 x rows x cols
// (uint8), labels undefined. Throws DataError for a missing file, a wrong magic, a
// truncated file (bytes expected vs found) or a header whose counts cannot fit the file.
ImageSet read_idx_images(const std::string& path);

// Magic 0x00000801: N unsigned bytes. Returns int64 labels of shape N.
at::Tensor read_idx_labels(const std::string& path);

// Both files; their counts must match (DataError naming both). num_classes = max label + 1.
ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path);

}  // namespace ssdd::data
