#pragma once
#include "sslkit/data/dataset.h"
#include "sslkit/data/rng.h"

#include <torch/arg.h>

#include <cstdint>

namespace ssl::data {

/// A read-only view of one uint8 image stored [H, W, C].
struct ImageRef {
  /// First pixel.
  const uint8_t* pixels;
  /// Height in pixels.
  int64_t height;
  /// Width in pixels.
  int64_t width;
  /// Channels per pixel.
  int64_t channels;
};

/// A crop rectangle in source pixels (top, left, height, width).
struct CropBox {
  /// First row.
  int64_t top;
  /// First column.
  int64_t left;
  /// Rows.
  int64_t height;
  /// Columns.
  int64_t width;
};

/// Random resized crop (Szegedy et al. 2015, torchvision's RandomResizedCrop): an area fraction and an
/// aspect ratio are drawn, the crop is resized back to the output size. SimCLR's defaults for small images.
struct RandomResizedCropOptions {
  /// Smallest crop area as a fraction of the image (SimCLR uses 0.08 on ImageNet; 0.2 suits 28x28 images).
  TORCH_ARG(double, scale_min) = 0.2;
  /// Largest crop area fraction.
  TORCH_ARG(double, scale_max) = 1.0;
  /// Smallest aspect ratio (width / height).
  TORCH_ARG(double, ratio_min) = 3.0 / 4.0;
  /// Largest aspect ratio.
  TORCH_ARG(double, ratio_max) = 4.0 / 3.0;
};

/// Brightness / contrast / saturation jitter applied with some probability, in a random order
/// (torchvision ColorJitter semantics: factors drawn from [1 - s, 1 + s]).
struct ColorJitterOptions {
  /// Brightness strength: pixels scaled by a factor in [1 - b, 1 + b].
  TORCH_ARG(double, brightness) = 0.4;
  /// Contrast strength: blend with the image's mean gray level by a factor in [1 - c, 1 + c].
  TORCH_ARG(double, contrast) = 0.4;
  /// Saturation strength: blend with the pixel's gray level (colour images only).
  TORCH_ARG(double, saturation) = 0.0;
  /// Probability that the jitter is applied at all (SimCLR: 0.8).
  TORCH_ARG(double, probability) = 0.8;
};

/// The SimCLR view pipeline: crop, horizontal flip, colour jitter, normalization.
struct ContrastiveAugmentOptions {
  /// Random resized crop parameters.
  TORCH_ARG(RandomResizedCropOptions, crop) = {};
  /// Probability of a horizontal flip.
  TORCH_ARG(double, flip_probability) = 0.5;
  /// Colour jitter parameters.
  TORCH_ARG(ColorJitterOptions, jitter) = {};
  /// Output side in pixels; 0 keeps the source size.
  TORCH_ARG(int64_t, out_size) = 0;
};

/// Draws a crop box the way torchvision's RandomResizedCrop.get_params does (10 tries, then a center crop).
CropBox sample_crop(int64_t height, int64_t width, const RandomResizedCropOptions& options, Rng& rng);

/// Bilinear resize of `box` of `image` to out_h x out_w (pixel centres aligned, edges clamped), optionally
/// mirrored, into planar float `out` [C, out_h, out_w] on the 0..255 scale.
void crop_resize(const ImageRef& image, const CropBox& box, bool flip, int64_t out_h, int64_t out_w, float* out);

/// Applies colour jitter in place to planar float [C, H, W] pixels on the 0..255 scale.
void color_jitter(float* planes, int64_t channels, int64_t height, int64_t width, const ColorJitterOptions& options,
                  Rng& rng);

/// (x / 255 - mean[c]) / std[c] in place on planar float [C, H, W].
void normalize(float* planes, int64_t channels, int64_t height, int64_t width, const Normalization& norm);

/// One SimCLR view of `image` into planar float `out` [C, S, S], normalized.
void contrastive_view(const ImageRef& image, const ContrastiveAugmentOptions& options, const Normalization& norm,
                      Rng& rng, float* out);

}  // namespace ssl::data
