// PNG and JPEG decoding into plain 8-bit buffers. No torch here: the data readers
// turn the result into tensors, and tools that only need pixels stay light.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ssdd::io {

// Row-major H x W x C, 8 bits per channel, C = 1 (grey) or 3 (RGB).
struct DecodedImage {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;
};

// Hostile-header guard: larger images are refused before any pixel buffer is allocated.
constexpr int kMaxImageSide = 16384;

enum class ImageFormat { Unknown, Png, Jpeg };

// Detects the format from the leading bytes (the extension is not trusted).
ImageFormat sniff_format(const uint8_t* data, size_t size);

// Decodes PNG or JPEG bytes. `channels` = 0 keeps the natural count (grey stays 1,
// colour/palette becomes 3); 1 or 3 converts. Alpha is dropped, 16-bit is scaled to 8.
// `name` appears in errors (a file path, or "<memory>"). Throws DataError when the
// bytes are not a decodable image or the image is larger than kMaxImageSide.
DecodedImage decode_image(const uint8_t* data, size_t size, int channels = 0,
                          const std::string& name = "<memory>");
DecodedImage decode_image(const std::vector<uint8_t>& bytes, int channels = 0,
                          const std::string& name = "<memory>");

// Reads and decodes a file; DataError names the file when it is missing or undecodable.
DecodedImage read_image(const std::string& path, int channels = 0);

// 1 -> 3 replicates grey; 3 -> 1 uses ITU-R 601 luma (the weights PIL's "L" mode uses).
DecodedImage convert_channels(DecodedImage image, int channels);

// Whole file as bytes; DataError when it cannot be opened or read.
std::vector<uint8_t> read_file_bytes(const std::string& path);

}  // namespace ssdd::io
