#pragma once
#include "sslkit/data/augment.h"
#include "sslkit/data/dataset.h"
#include "sslkit/ssl/encoders.h"

#include <torch/arg.h>

#include <vector>

namespace ssl::eval {

/// Options of the linear probe: multinomial logistic regression on standardized features, the L2 weight
/// chosen on a held-out part of the training split.
struct LinearProbeOptions {
  /// Candidate L2 weights (penalty weight_decay * ||W||^2 added to the mean cross entropy).
  TORCH_ARG(std::vector<double>, weight_decays) = std::vector<double>{0.0, 1e-5, 1e-4, 1e-3, 1e-2};
  /// Training examples held out to choose the L2 weight (at most `max_validation_fraction` of them).
  TORCH_ARG(int64_t, validation_size) = 5000;
  /// Upper bound on the held-out share of the training examples, so small (low-label) training sets keep
  /// most of their examples for fitting: 600 images hold out 120.
  TORCH_ARG(double, max_validation_fraction) = 0.2;
  /// L-BFGS iterations per fit.
  TORCH_ARG(int64_t, max_iterations) = 200;
  /// Seed of the held-out split.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// The linear probe's objective at (`weight` [D, K], `bias` [K]): the mean cross entropy of softmax(x·weight + bias)
/// against `labels` [N] (int64) plus weight_decay·‖weight‖², for float or double features `x` [N, D]. Its gradient is
/// written into `weight.grad()` and `bias.grad()`. One pass over x's rows in cache-sized blocks, each block's logits
/// and its share of xᵀ·(softmax − onehot) computed while the block is in cache, where autograd reads x twice.
torch::Tensor softmax_regression_objective(const torch::Tensor& x, const torch::Tensor& labels, torch::Tensor& weight,
                                           torch::Tensor& bias, double weight_decay);

/// A fitted probe: standardization statistics of the training split and the linear layer on top.
struct LinearClassifier {
  /// Per-feature mean [D] of the training split.
  torch::Tensor mean;
  /// Per-feature standard deviation [D] of the training split, plus 1e-6 of the largest one (a floor for constant
  /// features that keeps the probe scale-free).
  torch::Tensor stddev;
  /// Weights [D, K].
  torch::Tensor weight;
  /// Biases [K].
  torch::Tensor bias;
  /// The chosen L2 weight.
  double weight_decay = 0;
  /// Accuracy on the held-out split with the chosen L2 weight.
  double validation_accuracy = 0;
  /// Class scores [N, K] of raw (unstandardized) features [N, D].
  torch::Tensor logits(const torch::Tensor& features) const;
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
  /// Class scores of the test split [N_test, K] (for top-5, per-class metrics and the confusion matrix).
  torch::Tensor test_logits;
};

/// Frozen-encoder features [N, D] of uint8 images [N, H, W, C], computed in eval mode on `device`
/// in batches of `batch_size`, returned on CPU.
torch::Tensor extract_features(EncoderImpl& encoder, const torch::Tensor& images, const data::Normalization& norm,
                               torch::Device device, int64_t batch_size = 256);

/// Raw-pixel features [N, H*W*C] (normalized), the baseline every representation must beat.
torch::Tensor raw_pixel_features(const torch::Tensor& images, const data::Normalization& norm);

/// Fits multinomial logistic regression (L-BFGS) on standardized training features, choosing the L2 weight
/// by accuracy on a seeded held-out part of them, then refitting on all of them. `classes` <= 0: max label + 1.
/// Deterministic for a fixed seed.
LinearClassifier fit_linear_classifier(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                                       int64_t classes, const LinearProbeOptions& options = {});

/// Fits the probe on train features/labels and reports top-1 on test. Standardization statistics and the
/// L2 weight come from the training split only; the test split is used once, for the final accuracy.
LinearProbeResult linear_probe(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                               const torch::Tensor& test_features, const torch::Tensor& test_labels,
                               const LinearProbeOptions& options = {});

/// Indices (sorted, int64) of a class-balanced subset holding `fraction` of the examples: every class
/// contributes round(fraction * N / K) examples (all of its own when it has fewer), drawn by a per-class
/// shuffle seeded by `seed`, so a smaller fraction's subset is a prefix-per-class of a larger one's (nested).
/// fraction 1 returns every index. Throws unless 0 < fraction <= 1.
torch::Tensor class_balanced_subset(const torch::Tensor& labels, double fraction, uint64_t seed);

/// A freshly initialized encoder (the random-init baseline), its weights drawn after torch::manual_seed(seed).
Encoder random_init_encoder(const std::string& name, int64_t in_channels, int64_t image_size, uint64_t seed);
/// The same with every architecture choice of `options` (stem, patch size), as a checkpoint records them.
Encoder random_init_encoder(const std::string& name, const EncoderOptions& options, uint64_t seed);

/// The SimCLR paper's linear evaluation (Chen et al. 2020, appendix B.5): a linear layer behind a
/// BatchNorm without affine parameters, trained with Nesterov SGD (cosine learning rate, no weight decay) on
/// random-resized-crop + flip views of the training images passed through the frozen encoder. The BatchNorm's
/// test-time statistics are the cumulative average over all training batches.
struct AugmentedProbeOptions {
  /// Passes over the training images.
  TORCH_ARG(int64_t, epochs) = 3;
  /// Images per step.
  TORCH_ARG(int64_t, batch_size) = 256;
  /// Peak learning rate (SimCLR: 0.1 x batch / 256), decayed to 0 by a cosine.
  TORCH_ARG(double, learning_rate) = 0.1;
  /// Nesterov momentum.
  TORCH_ARG(double, momentum) = 0.9;
  /// The crop of the training views.
  TORCH_ARG(data::RandomResizedCropOptions, crop) = {};
  /// Seed of the view draws and the batch order.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Fine-tuning, the semi-supervised protocol of SimCLR (Chen et al. 2020, appendix B.5) and of VISSL / MMSelfSup's
/// benchmarks: the encoder and a linear head (behind a BatchNorm without affine parameters, as the augmented probe)
/// trained end to end on random-resized-crop + flip views of the labelled images, Nesterov SGD with a cosine
/// learning rate, the encoder at a fraction of the head's rate, no weight decay; by default the head starts from
/// the linear probe and the encoder's BatchNorm statistics stay as pretrained.
struct FineTuneOptions {
  /// Passes over the labelled images; 0: min(60, max(10, ceil(360000 / N))) for N images, so that 1% and 10% of
  /// Fashion-MNIST train 60 epochs (SimCLR's 1% schedule) and 100% trains 10.
  TORCH_ARG(int64_t, epochs) = 0;
  /// Images per step.
  TORCH_ARG(int64_t, batch_size) = 256;
  /// Peak learning rate of the head, decayed to 0 by a cosine.
  TORCH_ARG(double, learning_rate) = 0.01;
  /// The encoder's learning rate as a multiple of the head's.
  TORCH_ARG(double, encoder_lr_scale) = 0.1;
  /// Nesterov momentum.
  TORCH_ARG(double, momentum) = 0.9;
  /// The crop of the training views: at least 80% of the image, as smaller crops of 28-pixel images cost
  /// fine-tuning 2-5 points (docs/results.md).
  TORCH_ARG(data::RandomResizedCropOptions, crop) = data::RandomResizedCropOptions().scale_min(0.8);
  /// Seed of the view draws and the batch order.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Start the head from the linear probe of the frozen encoder (its weights, its standardization as the head
  /// BatchNorm's running statistics): linear probing then fine-tuning, LP-FT (Kumar et al. 2022), so the encoder's
  /// first updates follow a fitted head instead of a zero one; false: a zero head.
  TORCH_ARG(bool, linear_probe_first) = true;
  /// The linear probe that starts the head.
  TORCH_ARG(LinearProbeOptions, linear_probe) = {};
  /// Keep the encoder's BatchNorm statistics as pretrained: its BatchNorm layers run in eval mode while all weights,
  /// their affine ones included, train. The statistics of a few hundred labelled images' views would otherwise
  /// replace those of the pretraining data under the head.
  TORCH_ARG(bool, freeze_batch_norm) = true;
};

/// The epochs `fine_tune` trains on `train_size` images: `options.epochs()`, or the automatic schedule when it is 0.
int64_t fine_tune_epochs(const FineTuneOptions& options, int64_t train_size);

/// Fine-tunes `encoder` in place (left in eval mode) with a fresh linear head on `train` and scores the test split,
/// encoded without augmentation, once. `validation_accuracy` and `weight_decay` of the result are 0.
LinearProbeResult fine_tune(EncoderImpl& encoder, const data::ImageSet& train, const data::ImageSet& test,
                            const data::Normalization& norm, torch::Device device, const FineTuneOptions& options = {});

/// Trains and scores the augmented-view probe; the test split is encoded without augmentation and used once.
/// `validation_accuracy` and `weight_decay` of the result are 0 (nothing is chosen on held-out data).
LinearProbeResult augmented_linear_probe(EncoderImpl& encoder, const data::ImageSet& train,
                                         const data::ImageSet& test, const data::Normalization& norm,
                                         torch::Device device, const AugmentedProbeOptions& options = {});

}  // namespace ssl::eval
