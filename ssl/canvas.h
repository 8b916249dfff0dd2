#pragma once
#include <torch/types.h>

#include <cstdint>
#include <string>

namespace ssl {

/// An 8-bit RGB colour.
struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
};

/// Where `Canvas::text` anchors its x coordinate.
enum class Align { Left, Center, Right };

/// An RGB picture for plots and image grids: rectangles, lines and text in one 3x5 pixel font, every drawing
/// call clipped to the canvas. Pixels are a uint8 [H, W, 3] tensor on CPU.
class Canvas {
 public:
  /// A `height` x `width` canvas filled with `background`.
  Canvas(int64_t height, int64_t width, Rgb background);

  /// Height in pixels.
  int64_t height() const { return height_; }
  /// Width in pixels.
  int64_t width() const { return width_; }
  /// The pixels, uint8 [H, W, 3] (shares memory with the canvas).
  const torch::Tensor& pixels() const { return pixels_; }
  /// The colour at (x, y); throws outside the canvas.
  Rgb at(int64_t x, int64_t y) const;

  /// Sets pixel (x, y); ignored outside the canvas.
  void set(int64_t x, int64_t y, Rgb color);
  /// Fills the rectangle with corners (x0, y0) and (x1, y1), both inclusive.
  void fill(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb color);
  /// A straight line from (x0, y0) to (x1, y1) (Bresenham), each point a `thickness`-pixel square.
  void line(int64_t x0, int64_t y0, int64_t x1, int64_t y1, Rgb color, int64_t thickness = 1);
  /// Draws `text` with its top at y, `scale` screen pixels per font pixel. Letters are drawn as capitals
  /// whatever their case; digits, space and . , - + % : = / _ # ( ) have glyphs; other characters are blank.
  void text(int64_t x, int64_t y, const std::string& text, Rgb color, int64_t scale = 1, Align align = Align::Left);
  /// Width in screen pixels of `text` drawn at `scale` (4 font pixels per character, less the last gap).
  static int64_t text_width(const std::string& text, int64_t scale = 1);

  /// The canvas as PNG file bytes.
  std::string png() const;
  /// Writes the PNG atomically to `path`; throws naming the path.
  void write_png(const std::string& path) const;

 private:
  int64_t height_, width_;
  torch::Tensor pixels_;
  uint8_t* data_;
};

}  // namespace ssl
