#pragma once
#include "sslkit/data/views/view_maker.h"

namespace ssl::data {

/// Options of the CPC patch grid (van den Oord et al. 2018; Henaff et al. 2019), sized for 28x28 images:
/// 4 x 4 patches of 10 px at a stride of 6 px span 28 px (40% overlap; CPC uses 64 px patches, 50% overlap).
struct PatchGridOptions {
  /// Patches per side g (g x g patches per image).
  TORCH_ARG(int64_t, grid) = 4;
  /// Patch side in pixels.
  TORCH_ARG(int64_t, patch_size) = 10;
  /// Distance in pixels between neighbouring patches' corners (< patch_size: overlapping patches).
  TORCH_ARG(int64_t, stride) = 6;
  /// Each patch moves by up to this many pixels in each direction, kept inside the image.
  TORCH_ARG(int64_t, jitter) = 1;
  /// Operations applied to each patch independently (no crop); empty: none (CPC v2 augments per patch).
  TORCH_ARG(std::vector<AugmentOp>, patch_augment) = {};
};

/// CPC input: one view [g * g, C, P, P] of patches in row-major grid order.
class PatchGrid : public ViewMaker {
 public:
  /// `norm` are the data set's channel statistics the patches are normalized with.
  PatchGrid(PatchGridOptions options, Normalization norm);
  std::string name() const override { return "patch-grid"; }
  int64_t num_views() const override { return 1; }
  std::vector<int64_t> view_shape(int64_t channels, int64_t height, int64_t width) const override;
  void make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const override;
  /// Top-left corners (row, column) of the patches before jitter, for an image of the given size.
  std::vector<std::pair<int64_t, int64_t>> patch_corners(int64_t height, int64_t width) const;

 private:
  PatchGridOptions options_;
  Augmentation patch_augment_;
};

}  // namespace ssl::data
