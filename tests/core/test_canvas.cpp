#include "sslkit/ssl/canvas.h"

#include <catch2/catch.hpp>

namespace {

bool is(const ssl::Canvas& canvas, int64_t x, int64_t y, ssl::Rgb c) {
  const auto p = canvas.at(x, y);
  return p.r == c.r && p.g == c.g && p.b == c.b;
}

}  // namespace

TEST_CASE("Canvas text draws the 3x5 glyphs, letters as capitals whatever their case", "[core][canvas]") {
  const ssl::Rgb black{0, 0, 0}, red{200, 0, 0};
  ssl::Canvas canvas(12, 20, black);
  CHECK(canvas.pixels().sizes() == torch::IntArrayRef{12, 20, 3});
  // "1" is rows {010, 110, 010, 010, 111}; at scale 2 each font pixel is a 2x2 block.
  canvas.text(0, 0, "1", red, 2);
  CHECK(is(canvas, 2, 0, red));
  CHECK(is(canvas, 3, 1, red));
  CHECK(is(canvas, 0, 0, black));
  CHECK(is(canvas, 0, 2, red));
  CHECK(is(canvas, 4, 2, black));
  CHECK(is(canvas, 4, 8, red));
  CHECK(ssl::Canvas::text_width("abc", 2) == 22);
  CHECK(ssl::Canvas::text_width("", 2) == 0);

  ssl::Canvas lower(5, 40, black), upper(5, 40, black);
  lower.text(0, 0, "shirt/top", red);
  upper.text(0, 0, "SHIRT/TOP", red);
  CHECK(torch::equal(lower.pixels(), upper.pixels()));
  CHECK(lower.pixels().sum().item<int64_t>() > 0);
  // Right alignment ends the text at x; drawing past the edges is clipped, not an error.
  ssl::Canvas right(5, 10, black);
  right.text(10, 0, "7", red, 1, ssl::Align::Right);  // "7" row 0 = 111 at x 7..9
  CHECK(is(right, 7, 0, red));
  CHECK(is(right, 9, 0, red));
  CHECK(is(right, 6, 0, black));
  right.text(-3, -2, "888", red, 3);
}

TEST_CASE("Canvas lines join both end points and fill is inclusive", "[core][canvas]") {
  const ssl::Rgb white{255, 255, 255}, blue{0, 0, 255};
  ssl::Canvas canvas(10, 10, white);
  canvas.line(1, 1, 7, 4, blue);
  CHECK(is(canvas, 1, 1, blue));
  CHECK(is(canvas, 7, 4, blue));
  CHECK(is(canvas, 7, 1, white));
  canvas.fill(8, 8, 9, 9, blue);
  CHECK(is(canvas, 8, 8, blue));
  CHECK(is(canvas, 9, 9, blue));
  CHECK(is(canvas, 7, 9, white));
  CHECK_THROWS_WITH(canvas.at(10, 0), Catch::Contains("(10, 0) is outside 10x10"));
}
