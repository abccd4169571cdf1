#include "ssdd/io/image_grid.h"

#include <algorithm>

#include "ssdd/core/error.h"

namespace ssdd::io {
namespace {

GridOptions basic_options(int columns, int scale, int padding) {
  GridOptions o;
  o.columns = columns;
  o.scale = scale;
  o.padding = padding;
  return o;
}

}  // namespace

Canvas render_image_grid(const uint8_t* images, int n, int channels, int height, int width,
                         const GridOptions& options) {
  if (n < 0 || (n > 0 && images == nullptr)) throw Error("image grid: no image data");
  if (channels != 1 && channels != 3) {
    throw Error("image grid: channels must be 1 or 3, got " + std::to_string(channels));
  }
  if (height <= 0 || width <= 0) {
    throw Error("image grid: image size must be positive, got " + std::to_string(height) + "x" + std::to_string(width));
  }
  if (options.columns <= 0 || options.scale <= 0 || options.padding < 0) {
    throw Error("image grid: columns and scale must be positive and padding not negative");
  }
  const int columns = options.columns;
  const int rows = std::max(1, (n + columns - 1) / columns);  // an empty grid is still a valid picture
  const int tile_w = width * options.scale, tile_h = height * options.scale;
  const int pad = options.padding;

  int label_scale = options.label_scale;
  if (label_scale <= 0) {
    label_scale = 1;
    while (label_scale < 3 && text_height(label_scale + 1) <= tile_h * 2 / 3) ++label_scale;
  }
  int label_w = 0;
  for (const auto& label : options.row_labels) label_w = std::max(label_w, text_width(label, label_scale));
  const int label_column = label_w > 0 ? label_w + 2 * std::max(pad, 2 * label_scale) : 0;

  const long long total_w = label_column + static_cast<long long>(columns) * tile_w + (columns + 1LL) * pad;
  const long long total_h = static_cast<long long>(rows) * tile_h + (rows + 1LL) * pad;
  if (total_w > 100000 || total_h > 100000) {
    throw Error("image grid: " + std::to_string(total_w) + "x" + std::to_string(total_h) + " pixels is too large");
  }
  Canvas c(static_cast<int>(total_w), static_cast<int>(total_h), options.padding_color);
  auto& px = c.pixels();
  const size_t plane = static_cast<size_t>(height) * width;
  for (int i = 0; i < n; ++i) {
    const uint8_t* img = images + static_cast<size_t>(i) * channels * plane;
    const int x0 = label_column + pad + (i % columns) * (tile_w + pad);
    const int y0 = pad + (i / columns) * (tile_h + pad);
    for (int y = 0; y < tile_h; ++y) {
      const int sy = y / options.scale;
      uint8_t* out = &px[(static_cast<size_t>(y0 + y) * c.width() + x0) * 3];
      for (int x = 0; x < tile_w; ++x) {
        const size_t src = static_cast<size_t>(sy) * width + x / options.scale;
        for (int k = 0; k < 3; ++k) out[x * 3 + k] = img[(channels == 1 ? 0 : k) * plane + src];
      }
    }
  }
  if (label_column > 0) {
    // Labels sit on the background, not the padding colour, so they read clearly.
    c.fill_rect(Rect{0, 0, label_column, c.height()}, colors::kWhite);
    for (int r = 0; r < rows && r < static_cast<int>(options.row_labels.size()); ++r) {
      const int cy = pad + r * (tile_h + pad) + tile_h / 2;
      c.draw_text(label_column - std::max(pad, 2 * label_scale), cy, options.row_labels[r], colors::kBlack, label_scale,
                  HAlign::kRight, VAlign::kMiddle);
    }
  }
  return c;
}

void write_image_grid(const std::string& path, const uint8_t* images, int n, int channels, int height, int width,
                      int columns, int scale, int padding) {
  write_image_grid(path, images, n, channels, height, width, basic_options(columns, scale, padding));
}

void write_image_grid(const std::string& path, const uint8_t* images, int n, int channels, int height, int width,
                      const GridOptions& options) {
  render_image_grid(images, n, channels, height, width, options).write_png(path);
}

std::vector<uint8_t> encode_image_grid(const uint8_t* images, int n, int channels, int height, int width,
                                       int columns, int scale, int padding) {
  return encode_image_grid(images, n, channels, height, width, basic_options(columns, scale, padding));
}

std::vector<uint8_t> encode_image_grid(const uint8_t* images, int n, int channels, int height, int width,
                                       const GridOptions& options) {
  return render_image_grid(images, n, channels, height, width, options).encode_png();
}

}  // namespace ssdd::io
