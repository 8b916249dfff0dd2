#pragma once
#include "sslkit/data/augment.h"

#include <string>
#include <vector>

namespace ssl::data {

/// Turns one image into the inputs of a pretext task (and, for classification pretexts, its targets).
/// Implementations are stateless and thread-safe: all randomness comes from the `Rng` passed in.
class ViewMaker {
 public:
  virtual ~ViewMaker() = default;
  /// Short name ("two-views", "rotations", ...).
  virtual std::string name() const = 0;
  /// How many view tensors each image yields.
  virtual int64_t num_views() const = 0;
  /// Shape of every view made from images of the given size: [C, H, W] for an image, [N, C, H, W] for N patches.
  /// For a maker whose views differ in size (multi-crop), the shape of view 0.
  virtual std::vector<int64_t> view_shape(int64_t channels, int64_t height, int64_t width) const = 0;
  /// Shape of view `view` (0..num_views()-1); the same for every view unless a maker overrides it.
  virtual std::vector<int64_t> shape_of_view(int64_t view, int64_t channels, int64_t height, int64_t width) const {
    (void)view;
    return view_shape(channels, height, width);
  }
  /// Classification targets `make` writes per image (0: none; 1: one per image; `num_views()`: one per view).
  virtual int64_t targets_per_image() const { return 0; }
  /// Whether `make` writes classification targets.
  bool has_target() const { return targets_per_image() > 0; }
  /// Views that are crops of the whole image at its full side, which the trainer's progressive resizing may
  /// downsample (none unless a maker says so).
  virtual std::vector<int64_t> resizable_views() const { return {}; }
  /// Number of classes of the targets (0 when there are none).
  virtual int64_t num_classes() const { return 0; }
  /// Writes the views of `image` into `outs[v]` (each a float buffer of `shape_of_view(v, ...)`) and, when
  /// `has_target()`, `targets_per_image()` targets into `targets[0..]`.
  virtual void make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const = 0;
};

}  // namespace ssl::data
