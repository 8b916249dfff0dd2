#include "sslkit/data/views/rotations.h"

#include <c10/util/Exception.h>

namespace ssl::data {

Rotations::Rotations(RotationsOptions options, Normalization norm) : options_(options), norm_(std::move(norm)) {
  TORCH_CHECK(options_.flip_probability() >= 0 && options_.flip_probability() <= 1,
              "rotations: flip probability must be in [0, 1], got ", options_.flip_probability());
}

std::vector<int64_t> Rotations::view_shape(int64_t channels, int64_t height, int64_t width) const {
  TORCH_CHECK(height == width, "rotations: needs square images, got ", height, "x", width);
  return {channels, height, width};
}

void Rotations::make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const {
  const int64_t c = image.channels, h = image.height, w = image.width;
  float* upright = thread_scratch(4, static_cast<size_t>(c * h * w));
  crop_resize(image, {0, 0, h, w}, options_.flip_probability() > 0 && rng.bernoulli(options_.flip_probability()), h,
              w, upright);
  const Planes planes{upright, c, h, w};
  for (int64_t v = 0; v < num_views(); ++v) {
    const int64_t k = options_.all_rotations() ? v : rng.integer(0, 3);
    rot90(planes, k, outs[v]);
    normalize(outs[v], c, h, w, norm_);
    targets[v] = k;
  }
}

}  // namespace ssl::data
