// PNG output through libpng, for plots and image grids (no LibTorch here).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ssdd::io {

// Encodes 8-bit pixels, row-major and interleaved (grey, RGB or RGBA for
// channels 1, 3, 4), as a PNG file in memory. Throws IoError on bad arguments or a
// libpng failure.
std::vector<uint8_t> encode_png(const uint8_t* pixels, int width, int height, int channels);

// Writes the same to `path` atomically (a temporary file renamed into place, removed
// on failure), so a reader never sees half a picture. Throws IoError naming the path.
void write_png(const std::string& path, const uint8_t* pixels, int width, int height, int channels);

// Writes bytes that are already a PNG (as from encode_png), atomically.
void write_png_bytes(const std::string& path, const std::vector<uint8_t>& png);

// Standard base64 with '=' padding (RFC 4648), for data: URIs in HTML reports.
std::string base64(const std::vector<uint8_t>& bytes);
// "data:image/png;base64,..." for an <img src=...>.
std::string png_data_uri(const std::vector<uint8_t>& png);

}  // namespace ssdd::io
