// CIFAR-10 / CIFAR-100 in the official binary release. A record is `label_bytes` label
// bytes followed by 3072 pixel bytes: 1024 R, 1024 G, 1024 B, each 32x32 row-major,
// which is already the C x H x W order of ImageSet.
#pragma once
#include <string>
#include <vector>

#include "ssdd/data/dataset.h"

namespace ssdd::data {

// Concatenates the records of `paths` in order; the label is byte `label_index` of the
// record's `label_bytes`. num_classes = max label + 1. DataError when a file is missing
// or its size is not a positive multiple of the record size ("truncated").
ImageSet read_cifar_records(const std::vector<std::string>& paths, int label_bytes, int label_index);

// `dir` holds data_batch_1..5.bin and test_batch.bin (or a cifar-10-batches-bin
// subfolder does). 10 classes; names from batches.meta.txt when present.
ImageSet read_cifar10(const std::string& dir, bool train);

// `dir` holds train.bin and test.bin (or a cifar-100-binary subfolder does). Fine
// labels, 100 classes; names from fine_label_names.txt when present.
ImageSet read_cifar100(const std::string& dir, bool train);

}  // namespace ssdd::data
