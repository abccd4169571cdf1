// A cache of decoded data sets, so that a data set is parsed/decoded once and later
// loads are a single read of raw tensors (all of Fashion-MNIST in well under a second).
//
// One file per key under cache_dir()/sets/. A file records the full key; a source file
// that changes (size or modification time, which callers fold into the key) yields a new
// key and therefore a miss. Files carry a CRC-32 and are written atomically (temporary
// file + rename); a file that is corrupt, truncated or for another key is ignored and
// rewritten, never trusted.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ssdd/data/dataset.h"

namespace ssdd::data {

// $SSDD_CACHE, else $XDG_CACHE_HOME/ssdd, else $HOME/.cache/ssdd (else <tmp>/ssdd-cache).
std::string cache_dir();

// The cache file that holds `key`: cache_dir()/sets/<64-bit hash of key>.ssddset.
std::string cache_file(const std::string& key);

// Returns the cached set for `key`, or runs `load`, stores its result and returns it.
// A failure to write the cache only prints a warning.
ImageSet cached(const std::string& key, const std::function<ImageSet()>& load);

// The file format, exposed for tests and tools. save_image_set returns false (and
// leaves no partial file) when it cannot write; load_image_set returns nullopt for a
// missing, corrupt or mismatching file.
bool save_image_set(const std::string& path, const std::string& key, const ImageSet& set);
std::optional<ImageSet> load_image_set(const std::string& path, const std::string& key);


// Hex digest of the sizes and modification times of `paths`; directories are walked
// recursively. Missing paths are recorded as missing (so that creating them changes it).
std::string source_fingerprint(const std::vector<std::string>& paths);

}  // namespace ssdd::data
