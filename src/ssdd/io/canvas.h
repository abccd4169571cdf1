// An RGB raster with the few drawing operations charts and image grids need:
// lines (optionally anti-aliased), rectangles, discs and bitmap-font text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ssdd::io {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(const Rgb& a, const Rgb& b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
  friend bool operator!=(const Rgb& a, const Rgb& b) { return !(a == b); }
};

namespace colors {
constexpr Rgb kWhite{255, 255, 255};
constexpr Rgb kBlack{0, 0, 0};
constexpr Rgb kDarkGrey{64, 64, 64};
constexpr Rgb kGrey{128, 128, 128};
constexpr Rgb kLightGrey{220, 220, 220};
}  // namespace colors

struct Rect {
  int x = 0, y = 0, w = 0, h = 0;
  int right() const { return x + w; }    // exclusive
  int bottom() const { return y + h; }   // exclusive
  bool contains(int px, int py) const { return px >= x && px < x + w && py >= y && py < y + h; }
  bool intersects(const Rect& o) const { return x < o.right() && o.x < right() && y < o.bottom() && o.y < bottom(); }
};

enum class HAlign { kLeft, kCenter, kRight };
enum class VAlign { kTop, kMiddle, kBottom };  // kMiddle: centre of the capital height

class Canvas {
 public:
  // Throws ssdd::Error when a side is not positive.
  Canvas(int width, int height, Rgb background = colors::kWhite);

  int width() const { return width_; }
  int height() const { return height_; }
  // Row-major, interleaved RGB, width * height * 3 bytes.
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  std::vector<uint8_t>& pixels() { return pixels_; }
  Rgb at(int x, int y) const;  // (x, y) must lie inside the canvas

  // Every drawing operation stays inside the clip rectangle (initially the canvas).
  void set_clip(const Rect& clip);
  void reset_clip();

  void fill(Rgb color);  // ignores the clip
  void set_pixel(int x, int y, Rgb color);
  // Mixes color over the current pixel with weight alpha in [0, 1].
  void blend_pixel(int x, int y, Rgb color, double alpha);

  // Pixel centres lie at integer coordinates. thickness is the stroke width in pixels
  // (1 or 2 are typical); the ends are round.
  void draw_line(double x0, double y0, double x1, double y1, Rgb color, double thickness = 1.0,
                 bool antialias = true);
  void fill_rect(const Rect& rect, Rgb color);
  void draw_rect(const Rect& rect, Rgb color, int thickness = 1);  // outline inside rect
  void fill_circle(double cx, double cy, double radius, Rgb color, bool antialias = true);

  // Single-line text in the built-in font, magnified by an integer scale. (x, y) is the
  // anchor point, interpreted through the alignment.
  void draw_text(int x, int y, const std::string& text, Rgb color, int scale = 1, HAlign h = HAlign::kLeft,
                 VAlign v = VAlign::kTop);
  // Text rotated a quarter turn anticlockwise (reads bottom to top, as a y-axis label),
  // centred on (cx, cy).
  void draw_text_vertical(int cx, int cy, const std::string& text, Rgb color, int scale = 1);

  std::vector<uint8_t> encode_png() const;
  void write_png(const std::string& path) const;  // atomic; throws IoError

 private:
  bool visible(int x, int y) const { return x >= clip_.x && x < clip_.right() && y >= clip_.y && y < clip_.bottom(); }

  int width_;
  int height_;
  std::vector<uint8_t> pixels_;
  Rect clip_;
};

// Pixel extent of a single line of text in the built-in font.
int text_width(const std::string& text, int scale = 1);
int text_height(int scale = 1);

}  // namespace ssdd::io
