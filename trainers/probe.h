#pragma once
#include "sslkit/data/dataset.h"
#include "sslkit/ssl/encoders.h"

#include <torch/arg.h>

#include <vector>

namespace ssl::trainers {

/// Options of the linear probe: multinomial logistic regression on standardized features, the L2 weight
/// chosen on a held-out part of the training split.
struct LinearProbeOptions {
  /// Candidate L2 weights (penalty weight_decay * ||W||^2 added to the mean cross entropy).
  TORCH_ARG(std::vector<double>, weight_decays) = std::vector<double>{0.0, 1e-5, 1e-4, 1e-3, 1e-2};
  /// Training examples held out to choose the L2 weight.
  TORCH_ARG(int64_t, validation_size) = 5000;
  /// L-BFGS iterations per fit.
  TORCH_ARG(int64_t, max_iterations) = 200;
  /// Seed of the held-out split.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Result of a linear probe.
struct LinearProbeResult {
  /// Top-1 accuracy on the test split.
  double test_accuracy = 0;
  /// Accuracy on the held-out split with the chosen L2 weight.
  double validation_accuracy = 0;
  /// The chosen L2 weight.
  double weight_decay = 0;
  /// Feature width.
  int64_t feature_dim = 0;
};

/// Frozen-encoder features [N, D] of uint8 images [N, H, W, C], computed in eval mode on `device`
/// in batches of `batch_size`, returned on CPU.
torch::Tensor extract_features(EncoderImpl& encoder, const torch::Tensor& images, const data::Normalization& norm,
                               torch::Device device, int64_t batch_size = 1000);

/// Raw-pixel features [N, H*W*C] (normalized), the baseline every representation must beat.
torch::Tensor raw_pixel_features(const torch::Tensor& images, const data::Normalization& norm);

/// Fits the probe on train features/labels and reports top-1 on test. Standardization statistics and the
/// L2 weight come from the training split only; the test split is used once, for the final accuracy.
LinearProbeResult linear_probe(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                               const torch::Tensor& test_features, const torch::Tensor& test_labels,
                               const LinearProbeOptions& options = {});

}  // namespace ssl::trainers
