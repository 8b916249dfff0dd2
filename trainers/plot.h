#pragma once
#include <string>
#include <utility>
#include <vector>

namespace ssl::trainers {

/// Points of one curve: (step, value).
using Curve = std::vector<std::pair<double, double>>;

/// Draws the training loss (blue, left axis scaled to its range) and, when not empty, the kNN accuracy
/// (orange, right axis 0-100%) against step into an 800x400 RGB PNG written atomically (zlib-compressed,
/// no other dependency). Axis ends are labelled with their values.
void write_training_plot(const Curve& loss, const Curve& knn_accuracy, const std::string& path);

/// Reads the "step", "loss" and "knn_accuracy" fields of a metrics.jsonl file and plots them.
void plot_metrics(const std::string& jsonl_path, const std::string& png_path);

}  // namespace ssl::trainers
