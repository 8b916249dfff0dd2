#include "sslkit/ssl/canvas.h"

#include "sslkit/ssl/png.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

namespace ssl {
namespace {

using Glyph = std::array<uint8_t, 5>;

/// 3x5 glyphs, one 3-bit row each (bit 2 = left column); nullptr for characters without one.
const Glyph* glyph(char ch) {
  static const auto table = [] {
    std::array<Glyph, 128> t{};
    std::array<bool, 128> present{};
    auto put = [&](char c, Glyph g) {
      t[static_cast<size_t>(c)] = g;
      present[static_cast<size_t>(c)] = true;
    };
    const Glyph digits[10] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7}, {5, 5, 7, 1, 1},
                              {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 2, 2}, {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}};
    for (int d = 0; d < 10; ++d) put(static_cast<char>('0' + d), digits[d]);
    const Glyph letters[26] = {
        {2, 5, 7, 5, 5}, {6, 5, 6, 5, 6}, {3, 4, 4, 4, 3}, {6, 5, 5, 5, 6}, {7, 4, 6, 4, 7}, {7, 4, 6, 4, 4},
        {3, 4, 5, 5, 3}, {5, 5, 7, 5, 5}, {7, 2, 2, 2, 7}, {1, 1, 1, 5, 2}, {5, 5, 6, 5, 5}, {4, 4, 4, 4, 7},
        {5, 7, 7, 5, 5}, {6, 5, 5, 5, 5}, {2, 5, 5, 5, 2}, {6, 5, 6, 4, 4}, {2, 5, 5, 6, 3}, {6, 5, 6, 5, 5},
        {3, 4, 2, 1, 6}, {7, 2, 2, 2, 2}, {5, 5, 5, 5, 7}, {5, 5, 5, 5, 2}, {5, 5, 7, 7, 5}, {5, 5, 2, 5, 5},
        {5, 5, 2, 2, 2}, {7, 1, 2, 4, 7}};
    for (int l = 0; l < 26; ++l) put(static_cast<char>('a' + l), letters[l]);
    put(' ', {0, 0, 0, 0, 0});
    put('.', {0, 0, 0, 0, 2});
    put(',', {0, 0, 0, 2, 4});
    put('-', {0, 0, 7, 0, 0});
    put('+', {0, 2, 7, 2, 0});
    put('%', {5, 1, 2, 4, 5});
    put(':', {0, 2, 0, 2, 0});
    put('=', {0, 7, 0, 7, 0});
    put('/', {1, 1, 2, 4, 4});
    put('_', {0, 0, 0, 0, 7});
    put('#', {5, 7, 5, 7, 5});
    put('(', {1, 2, 2, 2, 1});
    put(')', {4, 2, 2, 2, 4});
    return std::make_pair(t, present);
  }();
  const auto c = static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(ch)));
  return c < 128 && table.second[c] ? &table.first[c] : nullptr;
}

}  // namespace

Canvas::Canvas(int64_t height, int64_t width, Rgb background) : height_(height), width_(width) {
  TORCH_CHECK(height > 0 && width > 0, "canvas: size must be positive, got ", height, "x", width);
  pixels_ = torch::empty({height, width, 3}, torch::kUInt8);
  data_ = pixels_.data_ptr<uint8_t>();
  fill(0, 0, width - 1, height - 1, background);
}

Rgb Canvas::at(int64_t x, int64_t y) const {
  TORCH_CHECK(x >= 0 && y >= 0 && x < width_ && y < height_, "canvas: (", x, ", ", y, ") is outside ", width_, "x",
              height_);
  const uint8_t* p = data_ + (y * width_ + x) * 3;
  return {p[0], p[1], p[2]};
}

void Canvas::set(int64_t x, int64_t y, Rgb color) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = data_ + (y * width_ + x) * 3;
  p[0] = color.r, p[1] = color.g, p[2] = color.b;
}

void Canvas::fill(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb color) {
  for (int64_t y = std::max<int64_t>(y0, 0); y <= std::min(y1, height_ - 1); ++y)
    for (int64_t x = std::max<int64_t>(x0, 0); x <= std::min(x1, width_ - 1); ++x) set(x, y, color);
}

void Canvas::line(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb color, int64_t thickness) {
  const int64_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  for (int64_t err = dx + dy;;) {
    fill(x0, y0, x0 + thickness - 1, y0 + thickness - 1, color);
    if (x0 == x1 && y0 == y1) break;
    const int64_t e2 = 2 * err;
    if (e2 >= dy) err += dy, x0 += sx;
    if (e2 <= dx) err += dx, y0 += sy;
  }
}

int64_t Canvas::text_width(const std::string& text, int64_t scale) {
  return text.empty() ? 0 : static_cast<int64_t>(text.size()) * 4 * scale - scale;
}

void Canvas::text(int64_t x, int64_t y, const std::string& text, Rgb color, int64_t scale, Align align) {
  if (align == Align::Right) x -= text_width(text, scale);
  if (align == Align::Center) x -= text_width(text, scale) / 2;
  for (size_t i = 0; i < text.size(); ++i) {
    const Glyph* rows = glyph(text[i]);
    if (!rows) continue;
    const int64_t left = x + static_cast<int64_t>(i) * 4 * scale;
    for (int64_t r = 0; r < 5; ++r)
      for (int64_t c = 0; c < 3; ++c)
        if (((*rows)[static_cast<size_t>(r)] >> (2 - c)) & 1)
          fill(left + c * scale, y + r * scale, left + (c + 1) * scale - 1, y + (r + 1) * scale - 1, color);
  }
}

std::string Canvas::png() const { return encode_png(data_, height_, width_, 3); }

void Canvas::write_png(const std::string& path) const { ssl::write_png(path, data_, height_, width_, 3); }

}  // namespace ssl
