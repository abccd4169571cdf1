// What a stage read, by content (issue 27): a digest of a data set's decoded images and
// labels. Stage hashes and cell keys take it in place of the data set's name and folder,
// so other images under the same name re-run the stages that read them, and the same
// images anywhere (another folder, another machine, a fresh mtime) are the same data.
#pragma once
#include <string>

#include "ssdd/data/registry.h"

namespace ssdd::data {

// Hex digest (CRC-32 of each split's images and labels, their shapes, the class count)
// of load_dataset(spec, opts). Loads through the decoded-data cache, and remembers the
// answer for the rest of the process (one digest per spec, folder, resolution, channels).
std::string dataset_digest(const std::string& spec, const LoadOptions& opts = {});

// The same digest of splits already loaded.
std::string dataset_digest(const DatasetSplits& splits);

}  // namespace ssdd::data
