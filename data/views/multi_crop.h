#pragma once
#include "sslkit/data/views/view_maker.h"

namespace ssl::data {

/// Options of `MultiCrop` (Caron et al. 2020, SwAV; DINO's defaults, scaled for 28x28 images).
struct MultiCropOptions {
  /// Augmentation of the two global crops at the image's size (DINO: area 0.4-1 of the image).
  TORCH_ARG(ContrastiveAugmentOptions, global) =
      ContrastiveAugmentOptions().crop(RandomResizedCropOptions().scale_min(0.4).scale_max(1.0));
  /// Number of local crops N after the two global ones (DINO: 8 on ImageNet; SwAV: 6); 0 gives two views.
  TORCH_ARG(int64_t, local_crops) = 4;
  /// Side of the local crops in pixels (DINO: 96 of 224; 14 of 28 here).
  TORCH_ARG(int64_t, local_crop_size) = 14;
  /// Smallest area fraction of a local crop (DINO: 0.05).
  TORCH_ARG(double, local_scale_min) = 0.05;
  /// Largest area fraction of a local crop (DINO: 0.4, where the global crops begin).
  TORCH_ARG(double, local_scale_max) = 0.4;
};

/// SwAV / DINO multi-crop: 2 global crops at the image's size, then `local_crops` small crops of
/// `local_crop_size` pixels, each from its own random resized crop followed by the global crops' flip, colour
/// jitter, grayscale, blur and solarization. Views 0 and 1 are the global crops, 2.. the local ones; methods
/// encode each size as one batch.
class MultiCrop : public ViewMaker {
 public:
  /// `norm` are the data set's channel statistics the crops are normalized with; throws on invalid options.
  MultiCrop(MultiCropOptions options, Normalization norm);
  std::string name() const override { return "multi-crop"; }
  int64_t num_views() const override { return 2 + options_.local_crops(); }
  std::vector<int64_t> view_shape(int64_t channels, int64_t height, int64_t width) const override;
  std::vector<int64_t> shape_of_view(int64_t view, int64_t channels, int64_t height, int64_t width) const override;
  /// The two global crops; the local crops keep their side.
  std::vector<int64_t> resizable_views() const override { return {0, 1}; }
  void make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const override;
  /// The options this view was built with.
  const MultiCropOptions& options() const { return options_; }

 private:
  MultiCropOptions options_;
  Augmentation global_, local_;
};

}  // namespace ssl::data
