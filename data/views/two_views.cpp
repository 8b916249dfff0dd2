#include "sslkit/data/views/two_views.h"

#include <c10/util/Exception.h>

namespace ssl::data {

TwoViews::TwoViews(ContrastiveAugmentOptions options, Normalization norm)
    : options_(std::move(options)), norm_(std::move(norm)) {
  const auto& crop = options_.crop();
  TORCH_CHECK(crop.scale_min() > 0 && crop.scale_min() <= crop.scale_max() && crop.scale_max() <= 1,
              "two-views: crop scale must satisfy 0 < min <= max <= 1, got [", crop.scale_min(), ", ",
              crop.scale_max(), "]");
  TORCH_CHECK(crop.ratio_min() > 0 && crop.ratio_min() <= crop.ratio_max(),
              "two-views: crop ratio must satisfy 0 < min <= max, got [", crop.ratio_min(), ", ", crop.ratio_max(),
              "]");
  TORCH_CHECK(options_.out_size() >= 0, "two-views: out_size must be >= 0, got ", options_.out_size());
}

std::vector<int64_t> TwoViews::view_shape(int64_t channels, int64_t height, int64_t width) const {
  if (options_.out_size() > 0) return {channels, options_.out_size(), options_.out_size()};
  return {channels, height, width};
}

void TwoViews::make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* /*target*/) const {
  contrastive_view(image, options_, norm_, rng, outs[0]);
  contrastive_view(image, options_, norm_, rng, outs[1]);
}

}  // namespace ssl::data
