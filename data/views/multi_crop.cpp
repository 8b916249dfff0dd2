#include "sslkit/data/views/multi_crop.h"

#include <c10/util/Exception.h>

namespace ssl::data {
namespace {

// The global crops' pipeline with the local crops' area range and output side.
ContrastiveAugmentOptions local_augment(const MultiCropOptions& options) {
  auto local = options.global();
  local.crop().scale_min(options.local_scale_min()).scale_max(options.local_scale_max()).out_size(
      options.local_crop_size());
  return local;
}

const MultiCropOptions& checked(const MultiCropOptions& options) {
  TORCH_CHECK_VALUE(options.local_crops() >= 0 && options.local_crops() <= 64,
                    "multi-crop: local crops must be in [0, 64], got ", options.local_crops());
  TORCH_CHECK_VALUE(options.local_crop_size() >= 1 && options.local_crop_size() <= 65536,
                    "multi-crop: local crop size must be in [1, 65536] pixels, got ", options.local_crop_size());
  TORCH_CHECK_VALUE(options.local_scale_min() > 0 && options.local_scale_min() <= options.local_scale_max() &&
                        options.local_scale_max() <= 1,
                    "multi-crop: local crop scale must satisfy 0 < min <= max <= 1, got [", options.local_scale_min(),
                    ", ", options.local_scale_max(), "]");
  return options;
}

}  // namespace

MultiCrop::MultiCrop(MultiCropOptions options, Normalization norm)
    : options_(checked(options)),
      global_(contrastive_augmentation(options_.global(), norm)),
      local_(contrastive_augmentation(local_augment(options_), norm)) {}

std::vector<int64_t> MultiCrop::view_shape(int64_t channels, int64_t height, int64_t width) const {
  return global_.output_shape(channels, height, width);
}

std::vector<int64_t> MultiCrop::shape_of_view(int64_t view, int64_t channels, int64_t height, int64_t width) const {
  TORCH_CHECK(view >= 0 && view < num_views(), "multi-crop: view ", view, " is not in 0..", num_views() - 1);
  return (view < 2 ? global_ : local_).output_shape(channels, height, width);
}

void MultiCrop::make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* /*targets*/) const {
  global_.apply(image, rng, outs[0]);
  global_.apply(image, rng, outs[1]);
  for (int64_t v = 0; v < options_.local_crops(); ++v) local_.apply(image, rng, outs[2 + v]);
}

}  // namespace ssl::data
