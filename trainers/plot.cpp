#include "sslkit/trainers/plot.h"

#include "sslkit/ssl/files.h"

#include <c10/util/Exception.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>

namespace ssl::trainers {
namespace {

constexpr int kWidth = 800, kHeight = 400;
constexpr int kLeft = 70, kRight = 740, kTop = 20, kBottom = 360;

struct Color {
  uint8_t r, g, b;
};
constexpr Color kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGrid{225, 225, 225}, kBlue{31, 119, 180},
    kOrange{255, 127, 14};

// 3x5 glyphs, one 3-bit row each (bit 2 = left column): digits, the characters of numbers and the labels.
const std::map<char, std::array<uint8_t, 5>>& glyphs() {
  static const std::map<char, std::array<uint8_t, 5>> table{
      {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
      {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 2, 2}},
      {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {'-', {0, 0, 7, 0, 0}},
      {'+', {0, 2, 7, 2, 0}}, {'%', {5, 1, 2, 4, 5}}, {'e', {0, 7, 7, 4, 7}}, {'l', {6, 2, 2, 2, 7}},
      {'o', {0, 7, 5, 5, 7}}, {'s', {0, 3, 6, 1, 6}}, {'k', {4, 5, 6, 5, 5}}, {'n', {0, 6, 5, 5, 5}},
      {'t', {2, 7, 2, 2, 3}}, {'p', {0, 7, 5, 7, 4}}, {' ', {0, 0, 0, 0, 0}}};
  return table;
}

class Canvas {
 public:
  Canvas() : pixels_(static_cast<size_t>(kWidth * kHeight), kWhite) {}
  void set(int x, int y, Color c) {
    if (x >= 0 && x < kWidth && y >= 0 && y < kHeight) pixels_[static_cast<size_t>(y * kWidth + x)] = c;
  }
  void fill(int x0, int y0, int x1, int y1, Color c) {
    for (int y = y0; y <= y1; ++y)
      for (int x = x0; x <= x1; ++x) set(x, y, c);
  }
  // A 2-pixel-thick line (Bresenham).
  void line(int x0, int y0, int x1, int y1, Color c) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    for (int err = dx + dy;;) {
      fill(x0, y0, x0 + 1, y0 + 1, c);
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  // Text at 2x scale; `right` aligns its right end at x.
  void text(int x, int y, const std::string& s, Color c, bool right = false) {
    if (right) x -= static_cast<int>(s.size()) * 8;
    for (char ch : s) {
      const auto found = glyphs().find(ch);
      if (found != glyphs().end()) {
        for (int row = 0; row < 5; ++row)
          for (int col = 0; col < 3; ++col)
            if (found->second[static_cast<size_t>(row)] & (4 >> col)) fill(x + 2 * col, y + 2 * row, x + 2 * col + 1, y + 2 * row + 1, c);
      }
      x += 8;
    }
  }
  std::string png() const {
    std::string raw;
    raw.reserve(static_cast<size_t>(kHeight * (1 + 3 * kWidth)));
    for (int y = 0; y < kHeight; ++y) {
      raw += '\0';  // filter: none
      for (int x = 0; x < kWidth; ++x) {
        const Color& c = pixels_[static_cast<size_t>(y * kWidth + x)];
        raw += static_cast<char>(c.r), raw += static_cast<char>(c.g), raw += static_cast<char>(c.b);
      }
    }
    uLongf size = compressBound(static_cast<uLong>(raw.size()));
    std::string compressed(size, '\0');
    TORCH_CHECK(compress2(reinterpret_cast<Bytef*>(compressed.data()), &size,
                          reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 6) == Z_OK,
                "plot: zlib compression failed");
    compressed.resize(size);
    std::string out("\x89PNG\r\n\x1a\n", 8);
    auto be32 = [](uint32_t v) {
      return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                         static_cast<char>(v)};
    };
    auto chunk = [&](const std::string& type, const std::string& data) {
      const std::string body = type + data;
      out += be32(static_cast<uint32_t>(data.size())) + body +
             be32(static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
    };
    chunk("IHDR", be32(kWidth) + be32(kHeight) + std::string("\x08\x02\x00\x00\x00", 5));  // 8-bit RGB
    chunk("IDAT", compressed);
    chunk("IEND", "");
    return out;
  }

 private:
  std::vector<Color> pixels_;
};

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

void draw_curve(Canvas& canvas, const Curve& curve, double x_min, double x_max, double y_min, double y_max, Color c) {
  auto px = [&](double x) { return kLeft + static_cast<int>(std::lround((x - x_min) / (x_max - x_min) * (kRight - kLeft))); };
  auto py = [&](double y) { return kBottom - static_cast<int>(std::lround((y - y_min) / (y_max - y_min) * (kBottom - kTop))); };
  for (size_t i = 0; i < curve.size(); ++i) {
    const int x = px(curve[i].first), y = py(curve[i].second);
    if (i > 0) canvas.line(px(curve[i - 1].first), py(curve[i - 1].second), x, y, c);
    if (curve.size() < 50) canvas.fill(x - 2, y - 2, x + 2, y + 2, c);
  }
}

}  // namespace

void write_training_plot(const Curve& loss, const Curve& knn_accuracy, const std::string& path) {
  Canvas canvas;
  for (int i = 0; i <= 4; ++i) {
    const int y = kTop + i * (kBottom - kTop) / 4;
    canvas.fill(kLeft, y, kRight, y, kGrid);
  }
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  Curve finite;
  for (const auto& point : loss)
    if (std::isfinite(point.second)) finite.push_back(point);
  if (!finite.empty()) {
    x_min = x_max = finite.front().first;
    y_min = y_max = finite.front().second;
    for (const auto& [x, y] : finite) {
      x_min = std::min(x_min, x), x_max = std::max(x_max, x), y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  }
  for (const auto& point : knn_accuracy) x_min = std::min(x_min, point.first), x_max = std::max(x_max, point.first);
  if (x_max <= x_min) x_max = x_min + 1;
  if (y_max <= y_min) y_max = y_min + 1;
  draw_curve(canvas, finite, x_min, x_max, y_min, y_max, kBlue);
  draw_curve(canvas, knn_accuracy, x_min, x_max, 0.0, 1.0, kOrange);
  canvas.line(kLeft, kTop, kLeft, kBottom, kBlack);
  canvas.line(kLeft, kBottom, kRight, kBottom, kBlack);
  canvas.line(kRight, kTop, kRight, kBottom, kBlack);
  canvas.text(kLeft - 8, kTop - 4, number(y_max), kBlue, true);
  canvas.text(kLeft - 8, kBottom - 8, number(y_min), kBlue, true);
  canvas.text(kLeft, kBottom + 10, number(x_min), kBlack);
  canvas.text(kRight, kBottom + 10, number(x_max), kBlack, true);
  canvas.text((kLeft + kRight) / 2 - 16, kBottom + 22, "step", kBlack);
  canvas.fill(kLeft + 12, kTop + 10, kLeft + 28, kTop + 13, kBlue);
  canvas.text(kLeft + 34, kTop + 7, "loss", kBlue);
  if (!knn_accuracy.empty()) {
    canvas.text(kRight + 6, kTop - 4, "100%", kOrange);
    canvas.text(kRight + 6, kBottom - 8, "0%", kOrange);
    canvas.fill(kLeft + 12, kTop + 26, kLeft + 28, kTop + 29, kOrange);
    canvas.text(kLeft + 34, kTop + 23, "knn", kOrange);
  }
  write_file_atomic(path, canvas.png());
}

void plot_metrics(const std::string& jsonl_path, const std::string& png_path) {
  static const std::regex step("\"step\":(-?[0-9]+)"), loss("\"loss\":([-0-9.eE+]+)"),
      knn("\"knn_accuracy\":([-0-9.eE+]+)");
  Curve losses, accuracies;
  std::ifstream in(jsonl_path);
  for (std::string line; std::getline(in, line);) {
    std::smatch s, m;
    if (!std::regex_search(line, s, step)) continue;
    const double x = std::stod(s[1]);
    if (std::regex_search(line, m, loss)) losses.emplace_back(x, std::stod(m[1]));
    if (std::regex_search(line, m, knn)) accuracies.emplace_back(x, std::stod(m[1]));
  }
  write_training_plot(losses, accuracies, png_path);
}

}  // namespace ssl::trainers
