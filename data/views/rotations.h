#pragma once
#include "sslkit/data/views/view_maker.h"

namespace ssl::data {

/// Options of the rotation pretext (Gidaris et al. 2018).
struct RotationsOptions {
  /// All four rotations (0, 90, 180, 270 degrees counter-clockwise) as four views with targets 0..3, the
  /// paper's setting; false: one view at a random rotation, target its index.
  TORCH_ARG(bool, all_rotations) = true;
  /// Probability of a horizontal flip of the image before it is rotated (the same flip for every view).
  TORCH_ARG(double, flip_probability) = 0.5;
};

/// RotNet input: each (square) image rotated by k * 90 degrees, target k.
class Rotations : public ViewMaker {
 public:
  /// `norm` are the data set's channel statistics the views are normalized with.
  Rotations(RotationsOptions options, Normalization norm);
  std::string name() const override { return "rotations"; }
  int64_t num_views() const override { return options_.all_rotations() ? 4 : 1; }
  std::vector<int64_t> view_shape(int64_t channels, int64_t height, int64_t width) const override;
  int64_t targets_per_image() const override { return num_views(); }
  int64_t num_classes() const override { return 4; }
  void make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const override;

 private:
  RotationsOptions options_;
  Normalization norm_;
};

}  // namespace ssl::data
