#include "sslkit/data/views/relative_patch.h"

#include <c10/util/Exception.h>

namespace ssl::data {

std::pair<int64_t, int64_t> relative_offset(int64_t label) {
  TORCH_CHECK(label >= 0 && label < 8, "relative-patch: label must be in 0..7, got ", label);
  const int64_t cell = label < 4 ? label : label + 1;  // skip the centre cell 4 of the 3x3 grid
  return {cell / 3 - 1, cell % 3 - 1};
}

RelativePatch::RelativePatch(RelativePatchOptions options, Normalization norm)
    : options_(options), norm_(std::move(norm)) {
  TORCH_CHECK(options_.patch_size() >= 1, "relative-patch: patch_size must be >= 1, got ", options_.patch_size());
  TORCH_CHECK(options_.gap() >= 0, "relative-patch: gap must be >= 0, got ", options_.gap());
  TORCH_CHECK(options_.jitter() >= 0, "relative-patch: jitter must be >= 0, got ", options_.jitter());
}

std::vector<int64_t> RelativePatch::view_shape(int64_t channels, int64_t height, int64_t width) const {
  const int64_t need = 3 * options_.patch_size() + 2 * options_.gap() + 2 * options_.jitter();
  TORCH_CHECK(need <= height && need <= width, "relative-patch: 3x3 patches of ", options_.patch_size(), " px, ",
              options_.gap(), " px gaps and ", options_.jitter(), " px jitter need ", need, "x", need,
              " px, more than the ", height, "x", width, " image");
  return {channels, options_.patch_size(), options_.patch_size()};
}

void RelativePatch::make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const {
  const int64_t p = options_.patch_size(), step = p + options_.gap(), j = options_.jitter(), c = image.channels;
  const int64_t span = 3 * p + 2 * options_.gap();
  // The grid's corner leaves room for the jitter on every side.
  const int64_t top = rng.integer(j, image.height - span - j), left = rng.integer(j, image.width - span - j);
  const int64_t label = rng.integer(0, 7);
  const auto [dr, dc] = relative_offset(label);
  const std::pair<int64_t, int64_t> cells[2] = {{1, 1}, {1 + dr, 1 + dc}};
  for (int v = 0; v < 2; ++v) {
    const int64_t dy = j > 0 ? rng.integer(-j, j) : 0, dx = j > 0 ? rng.integer(-j, j) : 0;
    crop_resize(image, {top + cells[v].first * step + dy, left + cells[v].second * step + dx, p, p}, false, p, p,
                outs[v]);
    normalize(outs[v], c, p, p, norm_);
  }
  targets[0] = label;
}

}  // namespace ssl::data
