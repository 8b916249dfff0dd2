#include "sslkit/data/views/two_views.h"

namespace ssl::data {

TwoViews::TwoViews(ContrastiveAugmentOptions options, Normalization norm)
    : options_(std::move(options)), augment_(contrastive_augmentation(options_, std::move(norm))) {}

std::vector<int64_t> TwoViews::view_shape(int64_t channels, int64_t height, int64_t width) const {
  return augment_.output_shape(channels, height, width);
}

void TwoViews::make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* /*targets*/) const {
  augment_.apply(image, rng, outs[0]);
  augment_.apply(image, rng, outs[1]);
}

}  // namespace ssl::data
