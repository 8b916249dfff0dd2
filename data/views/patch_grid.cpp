#include "sslkit/data/views/patch_grid.h"

#include <c10/util/Exception.h>

#include <algorithm>

namespace ssl::data {

PatchGrid::PatchGrid(PatchGridOptions options, Normalization norm)
    : options_(std::move(options)), patch_augment_(options_.patch_augment(), std::move(norm)) {
  TORCH_CHECK(options_.grid() >= 1, "patch-grid: grid must be >= 1, got ", options_.grid());
  TORCH_CHECK(options_.patch_size() >= 1, "patch-grid: patch_size must be >= 1, got ", options_.patch_size());
  TORCH_CHECK(options_.stride() >= 1, "patch-grid: stride must be >= 1, got ", options_.stride());
  TORCH_CHECK(options_.jitter() >= 0, "patch-grid: jitter must be >= 0, got ", options_.jitter());
}

std::vector<int64_t> PatchGrid::view_shape(int64_t channels, int64_t height, int64_t width) const {
  const int64_t span = (options_.grid() - 1) * options_.stride() + options_.patch_size();
  TORCH_CHECK(span <= height && span <= width, "patch-grid: ", options_.grid(), "x", options_.grid(), " patches of ",
              options_.patch_size(), " px at stride ", options_.stride(), " span ", span, " px, more than the ", height,
              "x", width, " image");
  return {options_.grid() * options_.grid(), channels, options_.patch_size(), options_.patch_size()};
}

std::vector<std::pair<int64_t, int64_t>> PatchGrid::patch_corners(int64_t height, int64_t width) const {
  const int64_t g = options_.grid(), span = (g - 1) * options_.stride() + options_.patch_size();
  const int64_t top = (height - span) / 2, left = (width - span) / 2;
  std::vector<std::pair<int64_t, int64_t>> corners;
  for (int64_t r = 0; r < g; ++r) {
    for (int64_t c = 0; c < g; ++c) corners.emplace_back(top + r * options_.stride(), left + c * options_.stride());
  }
  return corners;
}

void PatchGrid::make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* /*targets*/) const {
  const int64_t g = options_.grid(), p = options_.patch_size(), j = options_.jitter(), c = image.channels;
  const int64_t span = (g - 1) * options_.stride() + p;
  const int64_t top = (image.height - span) / 2, left = (image.width - span) / 2;
  for (int64_t r = 0; r < g; ++r) {
    for (int64_t col = 0; col < g; ++col) {
      const int64_t dy = j > 0 ? rng.integer(-j, j) : 0, dx = j > 0 ? rng.integer(-j, j) : 0;
      const int64_t y = std::clamp(top + r * options_.stride() + dy, int64_t{0}, image.height - p);
      const int64_t x = std::clamp(left + col * options_.stride() + dx, int64_t{0}, image.width - p);
      float* out = outs[0] + (r * g + col) * c * p * p;
      crop_resize(image, {y, x, p, p}, false, p, p, out);
      patch_augment_.apply(Planes{out, c, p, p}, rng);
    }
  }
}

}  // namespace ssl::data
