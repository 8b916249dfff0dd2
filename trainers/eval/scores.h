#pragma once
#include <torch/types.h>

#include <string>
#include <vector>

namespace ssl::eval {

/// Confusion counts int64 [K, K]: row = true class, column = predicted class.
torch::Tensor confusion_matrix(const torch::Tensor& predicted, const torch::Tensor& labels, int64_t classes);

/// Downstream classification scores of one test split.
struct ClassificationScores {
  /// Fraction of examples whose highest-scoring class is their label.
  double top1 = 0;
  /// Fraction of examples whose label is among the 5 highest-scoring classes (all classes when K <= 5).
  double top5 = 0;
  /// Mean of the per-class accuracies over the classes present in the labels.
  double balanced_accuracy = 0;
  /// Recall of each class (NaN for a class absent from the labels).
  std::vector<double> per_class_accuracy;
  /// Confusion counts int64 [K, K] (row = true class).
  torch::Tensor confusion;
};

/// Scores class scores [N, K] (logits or votes) against int64 labels [N].
ClassificationScores classification_scores(const torch::Tensor& scores, const torch::Tensor& labels);

/// The confusion matrix as CSV: a header "true\predicted,<name>...", then one row per true class.
/// Names default to the class indices.
std::string confusion_csv(const torch::Tensor& confusion, const std::vector<std::string>& names = {});

/// Writes the confusion matrix as a PNG heat map (white to blue by the row's fraction, counts in the cells,
/// "index name" beside each row, indices above the columns), atomically.
void write_confusion_png(const torch::Tensor& confusion, const std::vector<std::string>& names,
                         const std::string& path);

/// Dense (per-pixel) scores: pixel accuracy, mean per-class pixel accuracy and mean intersection over union.
struct SegmentationScores {
  /// Correct pixels / all pixels (PA).
  double pixel_accuracy = 0;
  /// Mean over classes of correct pixels of the class / pixels of the class (MPA).
  double mean_pixel_accuracy = 0;
  /// Mean over classes of |prediction AND truth| / |prediction OR truth| (mIoU).
  double mean_iou = 0;
  /// IoU of each class.
  std::vector<double> iou;
};

/// Scores from a pixel confusion matrix [K, K] (row = true class). Classes with no true and no predicted
/// pixel are left out of the means (their IoU is NaN).
SegmentationScores segmentation_scores(const torch::Tensor& confusion);

/// The JSON array text of a list of numbers (NaN as null).
std::string json_array(const std::vector<double>& values);

/// The JSON array-of-arrays text of an integer matrix [R, C].
std::string json_matrix(const torch::Tensor& matrix);

}  // namespace ssl::eval
