// A contact sheet of small images (distilled samples, augmented views) as one PNG.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "ssdd/io/canvas.h"

namespace ssdd::io {

struct GridOptions {
  int columns = 8;
  int scale = 1;    // integer nearest-neighbour magnification, so 28x28 digits are visible
  int padding = 2;  // pixels around and between tiles
  Rgb padding_color{220, 220, 220};
  // Text at the left of each row ("0°", "90°", "real"); empty: no label column.
  std::vector<std::string> row_labels;
  int label_scale = 0;  // 0: as large as fits the row height, up to 3
};

// images: n x channels x height x width uint8, channel-planar (a contiguous NCHW
// tensor). channels 1 (grey, drawn as RGB) or 3. Tiles fill rows left to right; the
// cells after the last image stay padding-coloured. Throws ssdd::Error on bad arguments.
Canvas render_image_grid(const uint8_t* images, int n, int channels, int height, int width,
                         const GridOptions& options);

// Writes the grid as a PNG (atomically; IoError on failure).
void write_image_grid(const std::string& path, const uint8_t* images, int n, int channels, int height, int width,
                      int columns, int scale = 1, int padding = 2);
void write_image_grid(const std::string& path, const uint8_t* images, int n, int channels, int height, int width,
                      const GridOptions& options);

// The same PNG in memory, for embedding in an HTML report.
std::vector<uint8_t> encode_image_grid(const uint8_t* images, int n, int channels, int height, int width,
                                       int columns, int scale = 1, int padding = 2);
std::vector<uint8_t> encode_image_grid(const uint8_t* images, int n, int channels, int height, int width,
                                       const GridOptions& options);

}  // namespace ssdd::io
