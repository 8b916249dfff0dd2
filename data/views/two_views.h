#pragma once
#include "sslkit/data/views/view_maker.h"

namespace ssl::data {

/// SimCLR / MoCo pretext input: two independent augmentations of the same image.
class TwoViews : public ViewMaker {
 public:
  /// `norm` are the data set's channel statistics the views are normalized with.
  TwoViews(ContrastiveAugmentOptions options, Normalization norm);
  std::string name() const override { return "two-views"; }
  int64_t num_views() const override { return 2; }
  std::vector<int64_t> view_shape(int64_t channels, int64_t height, int64_t width) const override;
  std::vector<int64_t> resizable_views() const override { return {0, 1}; }
  void make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const override;
  /// The augmentation applied to each view.
  const ContrastiveAugmentOptions& options() const { return options_; }

 private:
  ContrastiveAugmentOptions options_;
  Augmentation augment_;
};

}  // namespace ssl::data
