#pragma once
#include "sslkit/data/augment.h"

#include <string>
#include <vector>

namespace ssl::data {

/// Turns one image into the inputs of a pretext task (and, for classification pretexts, its target).
/// Implementations are stateless and thread-safe: all randomness comes from the `Rng` passed in.
class ViewMaker {
 public:
  virtual ~ViewMaker() = default;
  /// Short name ("two-views", "rotations", ...).
  virtual std::string name() const = 0;
  /// How many view tensors each image yields.
  virtual int64_t num_views() const = 0;
  /// Shape [C, H, W] of every view made from images of the given size.
  virtual std::vector<int64_t> view_shape(int64_t channels, int64_t height, int64_t width) const = 0;
  /// Whether `make` writes a classification target.
  virtual bool has_target() const { return false; }
  /// Writes the views of `image` into `outs[v]` (each a float buffer of `view_shape`) and, when
  /// `has_target()`, the target into `*target`.
  virtual void make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* target) const = 0;
};

}  // namespace ssl::data
