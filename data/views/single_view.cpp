#include "sslkit/data/views/single_view.h"

namespace ssl::data {

SingleView::SingleView(ContrastiveAugmentOptions options, Normalization norm)
    : augment_(contrastive_augmentation(options, std::move(norm))) {}

std::vector<int64_t> SingleView::view_shape(int64_t channels, int64_t height, int64_t width) const {
  return augment_.output_shape(channels, height, width);
}

void SingleView::make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* /*targets*/) const {
  augment_.apply(image, rng, outs[0]);
}

}  // namespace ssl::data
