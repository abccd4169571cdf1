// A small built-in bitmap font, so that plots and image grids can carry text without
// a font library. Glyphs are 5x9 cells: rows 0-6 hold capitals and digits (baseline
// under row 6), rows 7-8 hold descenders. Covers ASCII 32..126 plus the degree,
// plus-minus and multiplication signs; anything else draws as a hollow box.
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace ssdd::io::font {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 9;
constexpr int kAdvance = kGlyphWidth + 1;     // one blank column between characters
constexpr int kLineHeight = kGlyphHeight + 2;  // two blank rows between lines

// One row per entry; bit (kGlyphWidth - 1 - x) set means column x is inked.
using Glyph = std::array<uint8_t, kGlyphHeight>;

// The glyph for a Unicode code point (the box for unknown ones).
const Glyph& glyph(char32_t code_point);
// True when code_point has its own glyph (not the fallback box).
bool has_glyph(char32_t code_point);
inline bool pixel(const Glyph& g, int x, int y) {
  return x >= 0 && x < kGlyphWidth && y >= 0 && y < kGlyphHeight &&
         ((g[y] >> (kGlyphWidth - 1 - x)) & 1) != 0;
}

// UTF-8 to code points; invalid bytes become U+FFFD (drawn as the box).
std::u32string decode_utf8(const std::string& text);

// Size in pixels of a single line of text drawn at an integer scale.
int text_width(const std::string& text, int scale = 1);
inline int text_height(int scale = 1) { return kGlyphHeight * scale; }

}  // namespace ssdd::io::font
