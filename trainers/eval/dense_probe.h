#pragma once
#include "sslkit/data/dataset.h"
#include "sslkit/ssl/encoders.h"
#include "sslkit/trainers/eval/probe.h"
#include "sslkit/trainers/eval/scores.h"

#include <torch/arg.h>

#include <functional>

namespace ssl::eval {

/// Per-pixel features: normalized float images [B, C, H, W] to [B, D, H, W] (same H, W).
using DenseFeatures = std::function<torch::Tensor(const torch::Tensor&)>;

/// The encoder's last feature map, bilinearly upsampled (align_corners = false) to the image size.
DenseFeatures encoder_dense_features(EncoderImpl& encoder);

/// The normalized pixels themselves (a ceiling for threshold masks, which are linear in the pixel).
DenseFeatures raw_dense_features();

/// Foreground masks of uint8 images [N, H, W, C]: int64 [N, H, W], 1 where the largest channel value is
/// above `threshold` (0..255), else 0.
torch::Tensor threshold_masks(const torch::Tensor& images, int64_t threshold);

/// Options of the per-pixel linear probe.
struct DenseProbeOptions {
  /// Training images whose pixels train the probe (the first ones of the train split; 0: all).
  TORCH_ARG(int64_t, max_train_images) = 5000;
  /// Pixels drawn (uniformly, seeded) from each training image.
  TORCH_ARG(int64_t, pixels_per_image) = 16;
  /// The logistic-regression fit on the drawn pixels (L2 weight chosen on held-out training pixels).
  TORCH_ARG(LinearProbeOptions, linear) = {};
  /// Images per feature-extraction batch.
  TORCH_ARG(int64_t, batch_size) = 200;
  /// Seed of the pixel draws.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Result of the dense probe.
struct DenseProbeResult {
  /// PA, MPA, mIoU over every test pixel.
  SegmentationScores scores;
  /// Pixel confusion counts int64 [K, K] (row = true class).
  torch::Tensor confusion;
  /// Feature width per pixel.
  int64_t feature_dim = 0;
  /// Training pixels the probe was fitted on.
  int64_t train_pixels = 0;
  /// The chosen L2 weight.
  double weight_decay = 0;
};

/// Fits a per-pixel multinomial logistic regression on features of sampled training pixels (standardized
/// with their statistics) and scores every pixel of the test images against `test_masks`. Masks are int64
/// [N, H, W] with classes 0..K-1. The test split is used once, for the scores.
DenseProbeResult dense_probe(const DenseFeatures& features, const torch::Tensor& train_images,
                             const torch::Tensor& train_masks, const torch::Tensor& test_images,
                             const torch::Tensor& test_masks, const data::Normalization& norm, torch::Device device,
                             const DenseProbeOptions& options = {});

}  // namespace ssl::eval
