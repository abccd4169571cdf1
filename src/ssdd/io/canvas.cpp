#include "ssdd/io/canvas.h"

#include <algorithm>
#include <cmath>

#include "ssdd/core/error.h"
#include "ssdd/io/bitmap_font.h"
#include "ssdd/io/png_write.h"

namespace ssdd::io {
namespace {

// Distance from point p to the segment a-b.
double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double dx = bx - ax, dy = by - ay;
  const double len2 = dx * dx + dy * dy;
  double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
  t = std::clamp(t, 0.0, 1.0);
  const double ex = ax + t * dx - px, ey = ay + t * dy - py;
  return std::sqrt(ex * ex + ey * ey);
}

// Far-off coordinates (a clipped plot of huge values) would make the loops below
// enormous; nothing outside this box can touch the canvas anyway.
bool clip_segment_to_box(double& x0, double& y0, double& x1, double& y1, double lo_x, double lo_y, double hi_x,
                         double hi_y) {
  // Liang-Barsky: keep the part of the segment with lo <= p <= hi on both axes.
  double t0 = 0.0, t1 = 1.0;
  const double dx = x1 - x0, dy = y1 - y0;
  const double p[4] = {-dx, dx, -dy, dy};
  const double q[4] = {x0 - lo_x, hi_x - x0, y0 - lo_y, hi_y - y0};
  for (int i = 0; i < 4; ++i) {
    if (p[i] == 0.0) {
      if (q[i] < 0) return false;
      continue;
    }
    const double t = q[i] / p[i];
    if (p[i] < 0) {
      t0 = std::max(t0, t);
    } else {
      t1 = std::min(t1, t);
    }
    if (t0 > t1) return false;
  }
  const double sx = x0, sy = y0;
  x0 = sx + t0 * dx, y0 = sy + t0 * dy;
  x1 = sx + t1 * dx, y1 = sy + t1 * dy;
  return true;
}

}  // namespace

Canvas::Canvas(int width, int height, Rgb background) : width_(width), height_(height) {
  if (width <= 0 || height <= 0) {
    throw Error("canvas size must be positive, got " + std::to_string(width) + "x" + std::to_string(height));
  }
  pixels_.resize(static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
  clip_ = Rect{0, 0, width, height};
  fill(background);
}

Rgb Canvas::at(int x, int y) const {
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)) * 3;
  return Rgb{pixels_[i], pixels_[i + 1], pixels_[i + 2]};
}

void Canvas::set_clip(const Rect& clip) {
  const int x0 = std::clamp(clip.x, 0, width_), y0 = std::clamp(clip.y, 0, height_);
  const int x1 = std::clamp(clip.right(), x0, width_), y1 = std::clamp(clip.bottom(), y0, height_);
  clip_ = Rect{x0, y0, x1 - x0, y1 - y0};
}

void Canvas::reset_clip() { clip_ = Rect{0, 0, width_, height_}; }

void Canvas::fill(Rgb color) {
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = color.r;
    pixels_[i + 1] = color.g;
    pixels_[i + 2] = color.b;
  }
}

void Canvas::set_pixel(int x, int y, Rgb color) {
  if (!visible(x, y)) return;
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)) * 3;
  pixels_[i] = color.r;
  pixels_[i + 1] = color.g;
  pixels_[i + 2] = color.b;
}

void Canvas::blend_pixel(int x, int y, Rgb color, double alpha) {
  if (!visible(x, y) || !(alpha > 0.0)) return;
  if (alpha >= 1.0) return set_pixel(x, y, color);
  const size_t i = (static_cast<size_t>(y) * static_cast<size_t>(width_) + static_cast<size_t>(x)) * 3;
  auto mix = [alpha](uint8_t dst, uint8_t src) {
    return static_cast<uint8_t>(std::lround(dst + (static_cast<double>(src) - dst) * alpha));
  };
  pixels_[i] = mix(pixels_[i], color.r);
  pixels_[i + 1] = mix(pixels_[i + 1], color.g);
  pixels_[i + 2] = mix(pixels_[i + 2], color.b);
}

void Canvas::draw_line(double x0, double y0, double x1, double y1, Rgb color, double thickness, bool antialias) {
  if (!std::isfinite(x0) || !std::isfinite(y0) || !std::isfinite(x1) || !std::isfinite(y1)) return;
  const double r = std::max(thickness, 0.5) / 2.0;
  const double margin = r + 2.0;
  if (!clip_segment_to_box(x0, y0, x1, y1, clip_.x - margin, clip_.y - margin, clip_.right() + margin,
                           clip_.bottom() + margin)) {
    return;
  }
  const double dx = x1 - x0, dy = y1 - y0;
  const bool steep = std::abs(dy) > std::abs(dx);
  // Walk the major axis; across it, visit only the few pixels the stroke can reach.
  const double a0 = steep ? y0 : x0, a1 = steep ? y1 : x1;  // major coordinates
  const double b0 = steep ? x0 : y0, b1 = steep ? x1 : y1;  // minor coordinates
  const double da = a1 - a0;
  const double slope = da != 0.0 ? (b1 - b0) / da : 0.0;
  const int a_first = static_cast<int>(std::floor(std::min(a0, a1) - r));
  const int a_last = static_cast<int>(std::ceil(std::max(a0, a1) + r));
  const int width_px = std::max(1, static_cast<int>(std::lround(thickness)));
  for (int a = a_first; a <= a_last; ++a) {
    const double t = da != 0.0 ? std::clamp((a - a0) / da, 0.0, 1.0) : 0.0;
    const double b_centre = b0 + t * (b1 - b0);
    if (!antialias) {
      if (a < std::min(a0, a1) - 0.5 || a > std::max(a0, a1) + 0.5) continue;
      const double bc = b0 + slope * (a - a0);
      const int first = static_cast<int>(std::lround(bc - (width_px - 1) / 2.0));
      for (int k = 0; k < width_px; ++k) {
        steep ? set_pixel(first + k, a, color) : set_pixel(a, first + k, color);
      }
      continue;
    }
    const double span = r * std::sqrt(1.0 + slope * slope) + 1.5;
    const int b_first = static_cast<int>(std::floor(b_centre - span));
    const int b_last = static_cast<int>(std::ceil(b_centre + span));
    for (int b = b_first; b <= b_last; ++b) {
      const int px = steep ? b : a, py = steep ? a : b;
      if (!visible(px, py)) continue;
      const double d = segment_distance(px, py, x0, y0, x1, y1);
      blend_pixel(px, py, color, std::clamp(r + 0.5 - d, 0.0, 1.0));
    }
  }
}

void Canvas::fill_rect(const Rect& rect, Rgb color) {
  const int x0 = std::max(rect.x, clip_.x), x1 = std::min(rect.right(), clip_.right());
  const int y0 = std::max(rect.y, clip_.y), y1 = std::min(rect.bottom(), clip_.bottom());
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) set_pixel(x, y, color);
  }
}

void Canvas::draw_rect(const Rect& rect, Rgb color, int thickness) {
  const int t = std::max(1, std::min({thickness, (rect.w + 1) / 2, (rect.h + 1) / 2}));
  if (rect.w <= 0 || rect.h <= 0) return;
  fill_rect(Rect{rect.x, rect.y, rect.w, t}, color);
  fill_rect(Rect{rect.x, rect.bottom() - t, rect.w, t}, color);
  fill_rect(Rect{rect.x, rect.y, t, rect.h}, color);
  fill_rect(Rect{rect.right() - t, rect.y, t, rect.h}, color);
}

void Canvas::fill_circle(double cx, double cy, double radius, Rgb color, bool antialias) {
  if (!std::isfinite(cx) || !std::isfinite(cy) || !(radius > 0)) return;
  const int x0 = static_cast<int>(std::floor(cx - radius - 1)), x1 = static_cast<int>(std::ceil(cx + radius + 1));
  const int y0 = static_cast<int>(std::floor(cy - radius - 1)), y1 = static_cast<int>(std::ceil(cy + radius + 1));
  for (int y = std::max(y0, clip_.y); y <= std::min(y1, clip_.bottom() - 1); ++y) {
    for (int x = std::max(x0, clip_.x); x <= std::min(x1, clip_.right() - 1); ++x) {
      const double d = std::hypot(x - cx, y - cy);
      if (antialias) {
        blend_pixel(x, y, color, std::clamp(radius + 0.5 - d, 0.0, 1.0));
      } else if (d <= radius) {
        set_pixel(x, y, color);
      }
    }
  }
}

void Canvas::draw_text(int x, int y, const std::string& text, Rgb color, int scale, HAlign h, VAlign v) {
  scale = std::max(1, scale);
  const std::u32string code_points = font::decode_utf8(text);
  const int w = code_points.empty() ? 0 : (static_cast<int>(code_points.size()) * font::kAdvance - 1) * scale;
  const int left = h == HAlign::kLeft ? x : h == HAlign::kCenter ? x - w / 2 : x - w;
  // The capital height is rows 0..6, so its centre sits 3.5 rows below the top.
  const int top = v == VAlign::kTop ? y : v == VAlign::kMiddle ? y - (7 * scale) / 2 : y - font::kGlyphHeight * scale;
  int pen = left;
  for (char32_t cp : code_points) {
    const font::Glyph& g = font::glyph(cp);
    for (int gy = 0; gy < font::kGlyphHeight; ++gy) {
      for (int gx = 0; gx < font::kGlyphWidth; ++gx) {
        if (!font::pixel(g, gx, gy)) continue;
        fill_rect(Rect{pen + gx * scale, top + gy * scale, scale, scale}, color);
      }
    }
    pen += font::kAdvance * scale;
  }
}

void Canvas::draw_text_vertical(int cx, int cy, const std::string& text, Rgb color, int scale) {
  scale = std::max(1, scale);
  const std::u32string code_points = font::decode_utf8(text);
  const int length = code_points.empty() ? 0 : (static_cast<int>(code_points.size()) * font::kAdvance - 1) * scale;
  const int box_w = font::kGlyphHeight * scale;
  const int left = cx - box_w / 2;
  const int bottom = cy + length / 2;  // the first character sits at the bottom
  int pen = 0;
  for (char32_t cp : code_points) {
    const font::Glyph& g = font::glyph(cp);
    for (int gy = 0; gy < font::kGlyphHeight; ++gy) {
      for (int gx = 0; gx < font::kGlyphWidth; ++gx) {
        if (!font::pixel(g, gx, gy)) continue;
        // Text-space (along, down) -> canvas (right, up): a quarter turn anticlockwise.
        const int along = pen + gx * scale;
        fill_rect(Rect{left + gy * scale, bottom - along - scale, scale, scale}, color);
      }
    }
    pen += font::kAdvance * scale;
  }
}

std::vector<uint8_t> Canvas::encode_png() const { return io::encode_png(pixels_.data(), width_, height_, 3); }

void Canvas::write_png(const std::string& path) const { io::write_png(path, pixels_.data(), width_, height_, 3); }

int text_width(const std::string& text, int scale) { return font::text_width(text, std::max(1, scale)); }

int text_height(int scale) { return font::text_height(std::max(1, scale)); }

}  // namespace ssdd::io
