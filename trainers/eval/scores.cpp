#include "sslkit/trainers/eval/scores.h"

#include "sslkit/ssl/canvas.h"
#include "sslkit/ssl/json.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace ssl::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double nan_mean(const std::vector<double>& values) {
  double sum = 0;
  int64_t count = 0;
  for (double v : values)
    if (!std::isnan(v)) sum += v, ++count;
  return count ? sum / static_cast<double>(count) : kNaN;
}

}  // namespace

torch::Tensor confusion_matrix(const torch::Tensor& predicted, const torch::Tensor& labels, int64_t classes) {
  TORCH_CHECK(predicted.dim() == 1 && labels.dim() == 1 && predicted.size(0) == labels.size(0),
              "confusion matrix: predictions ", predicted.sizes(), " and labels ", labels.sizes(),
              " must be [N] of the same N");
  TORCH_CHECK(classes > 0, "confusion matrix: classes must be > 0, got ", classes);
  const auto p = predicted.to(torch::kCPU, torch::kInt64), y = labels.to(torch::kCPU, torch::kInt64);
  if (p.numel()) {
    TORCH_CHECK(p.min().item<int64_t>() >= 0 && p.max().item<int64_t>() < classes && y.min().item<int64_t>() >= 0 &&
                    y.max().item<int64_t>() < classes,
                "confusion matrix: classes must be in 0..", classes - 1);
  }
  return torch::bincount(y * classes + p, {}, classes * classes).view({classes, classes});
}

ClassificationScores classification_scores(const torch::Tensor& scores, const torch::Tensor& labels) {
  TORCH_CHECK(scores.dim() == 2 && labels.dim() == 1 && scores.size(0) == labels.size(0) && scores.size(0) > 0,
              "classification scores: expected scores [N, K] and labels [N], got ", scores.sizes(), " and ",
              labels.sizes());
  const int64_t classes = scores.size(1);
  const auto s = scores.to(torch::kCPU, torch::kFloat), y = labels.to(torch::kCPU, torch::kInt64);
  ClassificationScores out;
  const auto top = std::get<1>(s.topk(std::min<int64_t>(5, classes), 1));
  out.top1 = top.select(1, 0).eq(y).to(torch::kDouble).mean().item<double>();
  out.top5 = top.eq(y.unsqueeze(1)).any(1).to(torch::kDouble).mean().item<double>();
  out.confusion = confusion_matrix(top.select(1, 0), y, classes);
  const auto c = out.confusion.to(torch::kDouble);
  const auto rows = c.sum(1), diagonal = c.diagonal();
  for (int64_t k = 0; k < classes; ++k) {
    const double n = rows[k].item<double>();
    out.per_class_accuracy.push_back(n > 0 ? diagonal[k].item<double>() / n : kNaN);
  }
  out.balanced_accuracy = nan_mean(out.per_class_accuracy);
  return out;
}

std::string confusion_csv(const torch::Tensor& confusion, const std::vector<std::string>& names) {
  const int64_t k = confusion.size(0);
  auto name = [&](int64_t i) { return i < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(i)] : std::to_string(i); };
  const auto c = confusion.to(torch::kCPU, torch::kInt64).contiguous();
  std::string csv = "true\\predicted";
  for (int64_t j = 0; j < k; ++j) csv += "," + name(j);
  csv += "\n";
  for (int64_t i = 0; i < k; ++i) {
    csv += name(i);
    for (int64_t j = 0; j < k; ++j) csv += "," + std::to_string(c[i][j].item<int64_t>());
    csv += "\n";
  }
  return csv;
}

void write_confusion_png(const torch::Tensor& confusion, const std::vector<std::string>& names,
                         const std::string& path) {
  TORCH_CHECK(confusion.dim() == 2 && confusion.size(0) == confusion.size(1) && confusion.size(0) > 0,
              "confusion PNG: expected a square [K, K] matrix, got ", confusion.sizes());
  const int64_t k = confusion.size(0), cell = 40, font = 2;
  const auto c = confusion.to(torch::kCPU, torch::kInt64).contiguous();
  std::vector<std::string> row_labels;
  int64_t label_width = 0;
  for (int64_t i = 0; i < k; ++i) {
    row_labels.push_back(std::to_string(i) +
                         (i < static_cast<int64_t>(names.size()) ? " " + names[static_cast<size_t>(i)] : ""));
    label_width = std::max(label_width, Canvas::text_width(row_labels.back(), font));
  }
  const int64_t left = label_width + 20, top = 50;
  Canvas canvas(top + k * cell + 30, left + k * cell + 20, {255, 255, 255});
  const Rgb black{0, 0, 0}, white{255, 255, 255}, blue{31, 119, 180};
  canvas.text(left + k * cell / 2, 8, "predicted", black, font, Align::Center);
  canvas.text(10, top + k * cell + 10, "rows: true class, colour: share of the row", black, font);
  for (int64_t i = 0; i < k; ++i) {
    canvas.text(left + i * cell + cell / 2, top - 18, std::to_string(i), black, font, Align::Center);
    canvas.text(left - 10, top + i * cell + (cell - 5 * font) / 2, row_labels[static_cast<size_t>(i)], black, font,
                Align::Right);
    const double row_sum = static_cast<double>(c[i].sum().item<int64_t>());
    for (int64_t j = 0; j < k; ++j) {
      const int64_t count = c[i][j].item<int64_t>();
      const double f = row_sum > 0 ? static_cast<double>(count) / row_sum : 0.0;
      auto mix = [&](uint8_t to) { return static_cast<uint8_t>(std::lround(255.0 + f * (to - 255.0))); };
      const int64_t x = left + j * cell, y = top + i * cell;
      canvas.fill(x, y, x + cell - 1, y + cell - 1, {mix(blue.r), mix(blue.g), mix(blue.b)});
      canvas.text(x + cell / 2, y + (cell - 5 * font) / 2, std::to_string(count), f > 0.5 ? white : black, font,
                  Align::Center);
    }
  }
  canvas.write_png(path);
}

SegmentationScores segmentation_scores(const torch::Tensor& confusion) {
  TORCH_CHECK(confusion.dim() == 2 && confusion.size(0) == confusion.size(1) && confusion.size(0) > 0,
              "segmentation scores: expected a square [K, K] confusion matrix, got ", confusion.sizes());
  const auto c = confusion.to(torch::kCPU, torch::kDouble);
  const auto truth = c.sum(1), predicted = c.sum(0), hit = c.diagonal();
  SegmentationScores out;
  const double total = c.sum().item<double>();
  TORCH_CHECK(total > 0, "segmentation scores: the confusion matrix is empty");
  out.pixel_accuracy = hit.sum().item<double>() / total;
  std::vector<double> recall;
  for (int64_t k = 0; k < c.size(0); ++k) {
    const double t = truth[k].item<double>(), p = predicted[k].item<double>(), h = hit[k].item<double>();
    recall.push_back(t > 0 ? h / t : kNaN);
    out.iou.push_back(t + p - h > 0 ? h / (t + p - h) : kNaN);
  }
  out.mean_pixel_accuracy = nan_mean(recall);
  out.mean_iou = nan_mean(out.iou);
  return out;
}

std::string json_array(const std::vector<double>& values) {
  std::string text = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string field = JsonObject().add("v", values[i]).str();  // {"v":...}
    text += (i ? "," : "") + field.substr(5, field.size() - 6);
  }
  return text + "]";
}

std::string json_matrix(const torch::Tensor& matrix) {
  const auto m = matrix.to(torch::kCPU, torch::kInt64).contiguous();
  std::string text = "[";
  for (int64_t i = 0; i < m.size(0); ++i) {
    text += i ? ",[" : "[";
    for (int64_t j = 0; j < m.size(1); ++j) text += (j ? "," : "") + std::to_string(m[i][j].item<int64_t>());
    text += "]";
  }
  return text + "]";
}

}  // namespace ssl::eval
