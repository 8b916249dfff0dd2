#pragma once
#include "sslkit/data/views/view_maker.h"

namespace ssl::data {

/// Grid offset (row, column), each in -1..1, of the neighbour with relative-position label 0..7
/// (row-major around the centre: 0 1 2 / 3 . 4 / 5 6 7).
std::pair<int64_t, int64_t> relative_offset(int64_t label);

/// Options of the relative-position pretext (Doersch et al. 2015), sized for 28x28 images:
/// 3 x 3 patches of 7 px with 2 px gaps span 25 px, plus 1 px of jitter each side (the paper: 96 px patches,
/// 48 px gaps, up to 7 px jitter).
struct RelativePatchOptions {
  /// Patch side in pixels.
  TORCH_ARG(int64_t, patch_size) = 7;
  /// Pixels between neighbouring patches, so that edges and textures do not give the position away.
  TORCH_ARG(int64_t, gap) = 2;
  /// Each patch moves by up to this many pixels in each direction, independently.
  TORCH_ARG(int64_t, jitter) = 1;
};

/// Relative-position input: view 0 the centre patch, view 1 one of its 8 neighbours, target the neighbour's label.
class RelativePatch : public ViewMaker {
 public:
  /// `norm` are the data set's channel statistics the patches are normalized with.
  RelativePatch(RelativePatchOptions options, Normalization norm);
  std::string name() const override { return "relative-patch"; }
  int64_t num_views() const override { return 2; }
  std::vector<int64_t> view_shape(int64_t channels, int64_t height, int64_t width) const override;
  int64_t targets_per_image() const override { return 1; }
  int64_t num_classes() const override { return 8; }
  void make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const override;

 private:
  RelativePatchOptions options_;
  Normalization norm_;
};

}  // namespace ssl::data
