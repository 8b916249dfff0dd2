#pragma once
// One evaluation of a frozen encoder (or a baseline, or stored features): options in, a typed result out, and
// the text and JSON that `sslkit probe` prints and saves.
#include "sslkit/data/sources/source.h"
#include "sslkit/ssl/encoders.h"
#include "sslkit/trainers/eval/dense_probe.h"
#include "sslkit/trainers/eval/embed.h"
#include "sslkit/trainers/eval/embedding_map.h"
#include "sslkit/trainers/eval/probe.h"
#include "sslkit/trainers/eval/retrieval.h"
#include "sslkit/trainers/eval/scores.h"

#include <torch/arg.h>

#include <string>
#include <vector>

namespace ssl::eval {

/// What is probed: image classes (linear probe and kNN), per-pixel foreground (dense probe), retrieval of the
/// training images by the test images (mAP), or a 2-D map of the test images' features (PCA and t-SNE).
enum class Task { Classification, Segmentation, Retrieval, Map };

/// How the classifier is trained: L-BFGS on fixed features, Nesterov SGD on augmented views through the frozen
/// encoder, or fine-tuning of the encoder and a linear head end to end.
enum class Protocol { Lbfgs, SgdAugment, FineTune };

/// "classification", "segmentation", "retrieval" or "map".
std::string to_string(Task task);

/// "lbfgs", "sgd-augment" or "finetune".
std::string to_string(Protocol protocol);

/// Options of `evaluate`.
struct EvalOptions {
  /// Classification or segmentation.
  TORCH_ARG(Task, task) = Task::Classification;
  /// Lbfgs, or SgdAugment / FineTune (an encoder's features and classification only).
  TORCH_ARG(Protocol, protocol) = Protocol::Lbfgs;
  /// Where the features come from; Stored reads `train_features` and `test_features` (classification, retrieval
  /// and map; Lbfgs).
  TORCH_ARG(Features, features) = Features::Encoder;
  /// Checkpoint file, or run directory holding checkpoint.pt (the JSON result is then saved there); empty: none.
  TORCH_ARG(std::string, checkpoint) = "";
  /// Which of the checkpoint's encoder weights are evaluated (`encoder_weights`: the trained encoder, or an EMA
  /// network).
  TORCH_ARG(std::string, weights) = kTrainedEncoder;
  /// Architecture of the RandomInit features when there is no checkpoint.
  TORCH_ARG(std::string, encoder) = kDefaultEncoder;
  /// Data spec; empty: the checkpoint's, else fashion-mnist.
  TORCH_ARG(std::string, data) = "";
  /// Test images as their own spec; empty: the test split of `data`.
  TORCH_ARG(std::string, test_data) = "";
  /// Decoding of image folders (image size and channels 0: the checkpoint's, else the first image's).
  TORCH_ARG(data::SourceOptions, source) = {};
  /// Feature file (HDF5: /features float32 [N, D], /labels) fitted on with Stored features.
  TORCH_ARG(std::string, train_features) = "";
  /// Feature file scored with Stored features.
  TORCH_ARG(std::string, test_features) = "";
  /// Training images used: the first N (0: all).
  TORCH_ARG(int64_t, max_train) = 0;
  /// Fractions in (0, 1] of the training labels, one classification row each (class-balanced, seeded by `seed`).
  TORCH_ARG(std::vector<double>, label_fractions) = std::vector<double>{1.0};
  /// Training examples held out to choose the L2 weight (at most 20% of the (sub)set).
  TORCH_ARG(int64_t, validation_size) = LinearProbeOptions().validation_size();
  /// L-BFGS iterations per fit.
  TORCH_ARG(int64_t, max_iterations) = LinearProbeOptions().max_iterations();
  /// Images per feature-extraction batch (the dense probe uses a fifth of it).
  TORCH_ARG(int64_t, batch_size) = 256;
  /// Neighbours of the kNN classifier (0: no kNN).
  TORCH_ARG(int64_t, knn_k) = 200;
  /// Temperature of the kNN vote weights.
  TORCH_ARG(double, knn_temperature) = 0.1;
  /// SgdAugment: epochs.
  TORCH_ARG(int64_t, sgd_epochs) = AugmentedProbeOptions().epochs();
  /// SgdAugment: peak learning rate.
  TORCH_ARG(double, sgd_learning_rate) = AugmentedProbeOptions().learning_rate();
  /// SgdAugment and FineTune: images per step.
  TORCH_ARG(int64_t, sgd_batch_size) = AugmentedProbeOptions().batch_size();
  /// FineTune: epochs (0: the automatic schedule of `fine_tune_epochs`).
  TORCH_ARG(int64_t, finetune_epochs) = FineTuneOptions().epochs();
  /// FineTune: peak learning rate of the head.
  TORCH_ARG(double, finetune_learning_rate) = FineTuneOptions().learning_rate();
  /// FineTune: the encoder's learning rate as a multiple of the head's.
  TORCH_ARG(double, finetune_encoder_lr_scale) = FineTuneOptions().encoder_lr_scale();
  /// FineTune: the smallest crop area of the training views, as a fraction of the image.
  TORCH_ARG(double, finetune_crop_scale_min) = FineTuneOptions().crop().scale_min();
  /// FineTune: start the head from the frozen encoder's linear probe (LP-FT); false: from zero.
  TORCH_ARG(bool, finetune_linear_probe_first) = FineTuneOptions().linear_probe_first();
  /// FineTune: keep the encoder's BatchNorm statistics as pretrained (its BatchNorm layers in eval mode); a
  /// random-init encoder has none worth keeping, and re-estimates them.
  TORCH_ARG(bool, finetune_freeze_batch_norm) = FineTuneOptions().freeze_batch_norm();
  /// Segmentation on data without masks: foreground = pixel value above this (0..255).
  TORCH_ARG(int64_t, mask_threshold) = 25;
  /// Segmentation: training images whose pixels fit the probe.
  TORCH_ARG(int64_t, seg_train_images) = DenseProbeOptions().max_train_images();
  /// Segmentation: pixels drawn per training image.
  TORCH_ARG(int64_t, seg_pixels_per_image) = DenseProbeOptions().pixels_per_image();
  /// Retrieval: the precision@k cut-offs and query batch.
  TORCH_ARG(RetrievalOptions, retrieval) = {};
  /// Map: the t-SNE subset and its optimization.
  TORCH_ARG(EmbeddingMapOptions, map) = {};
  /// Folder (created if needed) for confusion.csv and confusion.png (map: the two scatter PNGs); empty: none.
  TORCH_ARG(std::string, out_dir) = "";
  /// Where the encoder runs.
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Seed of the subsets, held-out splits, pixel draws, augmented views and random-init weights.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// One label-fraction row of a classification result.
struct FractionResult {
  /// Fraction of the training labels used.
  double fraction = 1;
  /// Training examples in the class-balanced subset.
  int64_t train_size = 0;
  /// The linear probe fitted on the subset.
  LinearProbeResult probe;
  /// Its scores on the test split.
  ClassificationScores scores;
  /// kNN test top-1 with the subset as memory bank; -1 when kNN was skipped (always with FineTune, whose
  /// features change).
  double knn = -1;
  /// SgdAugment and FineTune: the epochs trained; 0 for Lbfgs.
  int64_t epochs = 0;
};

/// Result of `evaluate`.
struct EvalResult {
  /// The task evaluated.
  Task task = Task::Classification;
  /// The protocol of the classification probe.
  Protocol protocol = Protocol::Lbfgs;
  /// Where the features came from.
  Features features = Features::Encoder;
  /// The model ("method/encoder", "random-init/encoder", "raw pixels", or a feature file's "model").
  std::string model;
  /// The data spec (a feature file's "data" attribute, else its path).
  std::string data;
  /// The checkpoint file evaluated; empty when none was loaded.
  std::string checkpoint;
  /// The feature files of Stored features; empty otherwise.
  std::string train_features, test_features;
  /// Labelled training and test examples.
  int64_t train_size = 0, test_size = 0;
  /// Classification: one row per label fraction, in the order asked.
  std::vector<FractionResult> fractions;
  /// Classification: the kNN neighbours (0: no kNN).
  int64_t knn_k = 0;
  /// Classification: seconds of encoder feature extraction of both splits; -1 when no encoder ran.
  double extraction_seconds = -1;
  /// Segmentation: where the masks came from ("the data's masks" or "mask = pixel > T").
  std::string masks;
  /// Segmentation: the dense probe's result.
  DenseProbeResult segmentation;
  /// Retrieval: the test images' rankings of the training images, scored.
  RetrievalResult retrieval;
  /// Map: the test images' features in 2-D.
  EmbeddingMap map;
  /// Map: the scatter PNGs written (PCA, then t-SNE when it ran).
  std::vector<std::string> map_images;
  /// Wall-clock seconds of the whole evaluation.
  double seconds = 0;
  /// The run directory the JSON result was saved in (as `probe_json_name`); empty: none.
  std::string run_dir;
};

/// The row of the largest label fraction, whose numbers head the result. Throws when there are no rows.
const FractionResult& headline(const EvalResult& result);

/// The result as the one-line JSON object that `sslkit probe` prints on request and saves (no trailing newline).
std::string to_json(const EvalResult& result);

/// The result as the lines `sslkit probe` prints (each ending in a newline).
std::string to_text(const EvalResult& result);

/// The file name a result is saved as in a run directory: probe[-TASK][-FEATURES][-PROTOCOL].json, with TASK left
/// out for classification, FEATURES for Encoder and PROTOCOL for Lbfgs (probe.json for the run's own encoder).
std::string probe_json_name(Task task, Features features, Protocol protocol);

/// The scatter PNG of a map result in a run directory: map-pca[-FEATURES].png or map-tsne[-FEATURES].png.
std::string map_png_name(const std::string& projection, Features features);

/// Runs one evaluation: loads the checkpoint and data (or the stored features), builds the features, fits the
/// probe(s), writes confusion.csv and confusion.png into `out_dir` when given (the largest fraction's matrix,
/// named by `data::class_names`), and saves the JSON result into the run directory when `checkpoint` named one
/// (a map also its scatter PNGs, `map_png_name`, there and into `out_dir`).
EvalResult evaluate(const EvalOptions& options);

}  // namespace ssl::eval
