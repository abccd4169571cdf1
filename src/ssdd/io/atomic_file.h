// Writes that never leave half a file under the final name: write to a temporary
// name in the same folder, flush to disk, then rename into place.
#pragma once
#include <string>
#include <string_view>

namespace ssdd::io {

// Throws IoError (naming the path and the OS reason) on any failure; the temporary
// file is removed then, and the previous content of `path`, if any, is untouched.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Reads a whole file; throws DataError when it is missing or unreadable.
std::string read_file(const std::string& path);

// Creates a folder and its parents; throws IoError when that fails.
void make_dirs(const std::string& path);

bool file_exists(const std::string& path);

}  // namespace ssdd::io
