#include "sslkit/trainers/plot.h"

#include "sslkit/ssl/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <regex>

namespace ssl::trainers {
namespace {

constexpr int kWidth = 800, kHeight = 400;
constexpr int kLeft = 70, kRight = 740, kTop = 20, kBottom = 360;

constexpr Rgb kWhite{255, 255, 255}, kBlack{0, 0, 0}, kGrid{225, 225, 225}, kBlue{31, 119, 180},
    kOrange{255, 127, 14};

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g", value);
  return text;
}

void draw_curve(Canvas& canvas, const Curve& curve, double x_min, double x_max, double y_min, double y_max, Rgb c) {
  auto px = [&](double x) { return kLeft + static_cast<int>(std::lround((x - x_min) / (x_max - x_min) * (kRight - kLeft))); };
  auto py = [&](double y) { return kBottom - static_cast<int>(std::lround((y - y_min) / (y_max - y_min) * (kBottom - kTop))); };
  for (size_t i = 0; i < curve.size(); ++i) {
    const int x = px(curve[i].first), y = py(curve[i].second);
    if (i > 0) canvas.line(px(curve[i - 1].first), py(curve[i - 1].second), x, y, c, 2);
    if (curve.size() < 50) canvas.fill(x - 2, y - 2, x + 2, y + 2, c);
  }
}

}  // namespace

void write_training_plot(const Curve& loss, const Curve& knn_accuracy, const std::string& path) {
  Canvas canvas(kHeight, kWidth, kWhite);
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
  canvas.line(kLeft, kTop, kLeft, kBottom, kBlack, 2);
  canvas.line(kLeft, kBottom, kRight, kBottom, kBlack, 2);
  canvas.line(kRight, kTop, kRight, kBottom, kBlack, 2);
  canvas.text(kLeft - 8, kTop - 4, number(y_max), kBlue, 2, Align::Right);
  canvas.text(kLeft - 8, kBottom - 8, number(y_min), kBlue, 2, Align::Right);
  canvas.text(kLeft, kBottom + 10, number(x_min), kBlack, 2);
  canvas.text(kRight, kBottom + 10, number(x_max), kBlack, 2, Align::Right);
  canvas.text((kLeft + kRight) / 2 - 16, kBottom + 22, "step", kBlack, 2);
  canvas.fill(kLeft + 12, kTop + 10, kLeft + 28, kTop + 13, kBlue);
  canvas.text(kLeft + 34, kTop + 7, "loss", kBlue, 2);
  if (!knn_accuracy.empty()) {
    canvas.text(kRight + 6, kTop - 4, "100%", kOrange, 2);
    canvas.text(kRight + 6, kBottom - 8, "0%", kOrange, 2);
    canvas.fill(kLeft + 12, kTop + 26, kLeft + 28, kTop + 29, kOrange);
    canvas.text(kLeft + 34, kTop + 23, "knn", kOrange, 2);
  }
  canvas.write_png(path);
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
