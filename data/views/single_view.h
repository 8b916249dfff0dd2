#pragma once
#include "sslkit/data/views/view_maker.h"

namespace ssl::data {

/// Instance discrimination input (Wu et al. 2018): one augmentation of each image (crop, flip, colour jitter,
/// grayscale: the SimCLR pipeline, which extends Wu et al.'s with colour-jitter strength and probabilities).
class SingleView : public ViewMaker {
 public:
  /// `norm` are the data set's channel statistics the view is normalized with.
  SingleView(ContrastiveAugmentOptions options, Normalization norm);
  std::string name() const override { return "single-view"; }
  int64_t num_views() const override { return 1; }
  std::vector<int64_t> view_shape(int64_t channels, int64_t height, int64_t width) const override;
  void make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const override;

 private:
  Augmentation augment_;
};

}  // namespace ssl::data
