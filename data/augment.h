#pragma once
#include "sslkit/data/dataset.h"
#include "sslkit/data/rng.h"

#include <torch/arg.h>

#include <cstdint>
#include <variant>
#include <vector>

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

/// A writable planar float image [C, H, W] on the 0..255 scale (what every augmentation works on).
struct Planes {
  /// First value of channel 0.
  float* data;
  /// Channels.
  int64_t channels;
  /// Height in pixels.
  int64_t height;
  /// Width in pixels.
  int64_t width;
  /// Values in all channels.
  int64_t numel() const { return channels * height * width; }
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

// ---- Options of the random operations. Defaults follow SimCLR (Chen et al. 2020, appendix A) scaled for
// ---- 28x28 images: its CIFAR-10 setting (colour strength s = 0.5, no blur) where ImageNet's does not fit.

/// Random resized crop (Szegedy et al. 2015, torchvision's RandomResizedCrop): an area fraction and an
/// aspect ratio are drawn, the crop is resized back to the output size.
struct RandomResizedCropOptions {
  /// Smallest crop area as a fraction of the image (SimCLR uses 0.08 on ImageNet; 0.2 suits 28x28 images).
  TORCH_ARG(double, scale_min) = 0.2;
  /// Largest crop area fraction.
  TORCH_ARG(double, scale_max) = 1.0;
  /// Smallest aspect ratio (width / height).
  TORCH_ARG(double, ratio_min) = 3.0 / 4.0;
  /// Largest aspect ratio.
  TORCH_ARG(double, ratio_max) = 4.0 / 3.0;
  /// Output side in pixels; 0 keeps the source size.
  TORCH_ARG(int64_t, out_size) = 0;
};

/// Mirror left-right with some probability.
struct HorizontalFlipOptions {
  /// Probability of the flip (SimCLR: 0.5).
  TORCH_ARG(double, probability) = 0.5;
};

/// Brightness / contrast / saturation / hue jitter applied with some probability, in a random order
/// (torchvision ColorJitter semantics: factors drawn from [1 - s, 1 + s], hue shift from [-h, h] turns).
/// Saturation and hue act on 3-channel images only; on gray images they draw nothing and change nothing.
struct ColorJitterOptions {
  /// Brightness strength: pixels scaled by a factor in [1 - b, 1 + b] (SimCLR: 0.8 s, s = 0.5).
  TORCH_ARG(double, brightness) = 0.4;
  /// Contrast strength: blend with the image's mean gray level by a factor in [1 - c, 1 + c].
  TORCH_ARG(double, contrast) = 0.4;
  /// Saturation strength: blend with the pixel's gray level (colour images only).
  TORCH_ARG(double, saturation) = 0.4;
  /// Hue strength in turns, at most 0.5: hue rotated by a shift in [-h, h] (colour images only; SimCLR: 0.2 s).
  TORCH_ARG(double, hue) = 0.1;
  /// Probability that the jitter is applied at all (SimCLR: 0.8).
  TORCH_ARG(double, probability) = 0.8;
};

/// Replace every channel by the luma 0.299 R + 0.587 G + 0.114 B with some probability (colour images only).
struct RandomGrayscaleOptions {
  /// Probability (SimCLR: 0.2).
  TORCH_ARG(double, probability) = 0.2;
};

/// Gaussian blur with a random sigma (SimCLR's ImageNet setting; its CIFAR setting leaves blur out).
struct GaussianBlurOptions {
  /// Probability of blurring (SimCLR: 0.5).
  TORCH_ARG(double, probability) = 0.5;
  /// Smallest sigma in pixels.
  TORCH_ARG(double, sigma_min) = 0.1;
  /// Largest sigma in pixels.
  TORCH_ARG(double, sigma_max) = 2.0;
  /// Kernel side as a fraction of the image side, rounded to an odd size of at least 3 (SimCLR: 10%).
  TORCH_ARG(double, kernel_fraction) = 0.1;
};

/// Solarize (invert the pixels at or above a threshold) with some probability (BYOL's second view: 0.2).
struct SolarizeOptions {
  /// Probability of solarizing.
  TORCH_ARG(double, probability) = 0.2;
  /// Pixels >= threshold (0..255 scale) become 255 - pixel.
  TORCH_ARG(double, threshold) = 128.0;
};

/// Rotation by k * 90 degrees counter-clockwise (square images).
struct RandomRot90Options {
  /// Probability of rotating at all; k is then drawn from 1..3, so 0.75 makes k uniform on 0..3.
  TORCH_ARG(double, probability) = 0.75;
};

/// Rotation by an arbitrary angle drawn from [-max_degrees, max_degrees], bilinear, about the image centre.
struct RandomRotationOptions {
  /// Largest rotation in degrees, counter-clockwise positive.
  TORCH_ARG(double, max_degrees) = 15.0;
  /// Value (0..255) of pixels that come from outside the image.
  TORCH_ARG(double, fill) = 0.0;
};

// ---- Deterministic operations (the random ones draw their parameters, then call these).

/// Draws a crop box the way torchvision's RandomResizedCrop.get_params does (10 tries, then a center crop).
CropBox sample_crop(int64_t height, int64_t width, const RandomResizedCropOptions& options, Rng& rng);

/// Bilinear resize of `box` of `image` to out_h x out_w (pixel centres aligned, edges clamped), optionally
/// mirrored, into planar float `out` [C, out_h, out_w] on the 0..255 scale. A box of the output's size
/// copies its pixels exactly.
void crop_resize(const ImageRef& image, const CropBox& box, bool flip, int64_t out_h, int64_t out_w, float* out);

/// Mirrors left-right in place.
void horizontal_flip(Planes planes);

/// Rotates by k * 90 degrees counter-clockwise (k taken mod 4) into `out`, which holds [C, W, H] for odd k.
void rot90(const Planes& in, int64_t k, float* out);

/// Rotates by `degrees` counter-clockwise about the image centre into `out` (same shape), bilinear;
/// samples from outside the image take `fill`.
void rotate(const Planes& in, double degrees, float fill, float* out);

/// Gaussian blur in place with a separable (2 radius + 1)-tap kernel and mirrored borders;
/// `scratch` holds at least `planes.numel()` floats.
void gaussian_blur(Planes planes, double sigma, int64_t radius, float* scratch);

/// Pixels >= threshold become 255 - pixel, in place.
void solarize(Planes planes, float threshold);

/// Every channel of a 3-channel image becomes the luma 0.299 R + 0.587 G + 0.114 B (ITU-R 601); other
/// channel counts are left alone.
void grayscale(Planes planes);

/// Rotates the hue of a 3-channel image by `shift` turns (HSV, as torchvision's adjust_hue), in place.
void adjust_hue(Planes planes, double shift);

/// Applies colour jitter in place to planar float [C, H, W] pixels on the 0..255 scale.
void color_jitter(float* planes, int64_t channels, int64_t height, int64_t width, const ColorJitterOptions& options,
                  Rng& rng);

/// (x / 255 - mean[c]) / std[c] in place on planar float [C, H, W].
void normalize(float* planes, int64_t channels, int64_t height, int64_t width, const Normalization& norm);

/// A per-thread float buffer of at least `count` values for `slot` (0..7; slots 0-3 belong to this file),
/// reused across calls so the per-image hot path allocates nothing once warm.
float* thread_scratch(int slot, size_t count);

// ---- Composition.

/// One step of an `Augmentation`.
using AugmentOp = std::variant<RandomResizedCropOptions, HorizontalFlipOptions, ColorJitterOptions,
                               RandomGrayscaleOptions, GaussianBlurOptions, SolarizeOptions, RandomRot90Options,
                               RandomRotationOptions>;

/// A seeded augmentation pipeline: a pure function of (image, rng). A crop may only come first; without one
/// the image is converted as is. Operations draw their random numbers in order; one whose probability is 0,
/// or that does nothing to images of this channel count, draws nothing. Thread-safe; scratch space is per thread.
class Augmentation {
 public:
  /// The operations in order; `norm`, when it has channels, normalizes the result.
  explicit Augmentation(std::vector<AugmentOp> ops = {}, Normalization norm = {});
  /// Appends an operation.
  Augmentation& then(AugmentOp op);
  /// The operations in order.
  const std::vector<AugmentOp>& ops() const { return ops_; }
  /// Shape [C, H, W] of the result for an image of the given size.
  std::vector<int64_t> output_shape(int64_t channels, int64_t height, int64_t width) const;
  /// Augments `image` into planar float `out` of `output_shape`, normalized when a normalization was given.
  void apply(const ImageRef& image, Rng& rng, float* out) const;
  /// Augments float planes in place (no crop allowed); normalizes when a normalization was given.
  void apply(Planes planes, Rng& rng) const;

 private:
  void apply_after_crop(Planes planes, size_t first, Rng& rng) const;
  std::vector<AugmentOp> ops_;
  Normalization norm_;
};

/// The SimCLR view pipeline: crop, horizontal flip, colour jitter, random grayscale, blur, solarize.
struct ContrastiveAugmentOptions {
  /// Random resized crop parameters.
  TORCH_ARG(RandomResizedCropOptions, crop) = {};
  /// Probability of a horizontal flip.
  TORCH_ARG(double, flip_probability) = 0.5;
  /// Colour jitter parameters.
  TORCH_ARG(ColorJitterOptions, jitter) = {};
  /// Random grayscale (colour images only).
  TORCH_ARG(RandomGrayscaleOptions, grayscale) = {};
  /// Gaussian blur; off by default (SimCLR's CIFAR setting: blur hurts small images).
  TORCH_ARG(GaussianBlurOptions, blur) = GaussianBlurOptions().probability(0.0);
  /// Solarize; off by default (SimCLR does not use it; BYOL's second view does, with 0.2).
  TORCH_ARG(SolarizeOptions, solarize) = SolarizeOptions().probability(0.0);
};

/// The pipeline `options` describe, normalizing with `norm`.
Augmentation contrastive_augmentation(const ContrastiveAugmentOptions& options, const Normalization& norm);

/// Checks an operation's options, naming `context` and the bad value.
void validate(const AugmentOp& op, const char* context);

}  // namespace ssl::data
