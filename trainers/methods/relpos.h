#pragma once
#include "sslkit/data/views/relative_patch.h"
#include "sslkit/trainers/methods/pretext.h"

namespace ssl::trainers {

/// Relative-position hyper-parameters (Doersch et al. 2015, "Unsupervised Visual Representation Learning by
/// Context Prediction"), scaled for 28x28 images.
struct RelPosOptions {
  /// Hidden width of the MLP on the two concatenated patch features (the paper's fc7/fc8 pair: 4096).
  TORCH_ARG(int64_t, hidden_dim) = 256;
  /// The relative-patch view: 7 px patches, 2 px gap, 1 px jitter.
  TORCH_ARG(data::RelativePatchOptions, view) = {};
};

/// Relative position: the shared encoder on the centre patch and one neighbour (one pass over the 2B patches),
/// their pooled features concatenated (centre first), an MLP to 8 classes, cross-entropy against the
/// neighbour's position; "accuracy" is the position accuracy. Learned on 7 px patches, probed on whole images
/// (every registered encoder is fully convolutional with global pooling; BatchNorm's running statistics come
/// from patches).
class RelPos : public PretextClassifier {
 public:
  RelPos(Encoder encoder, RelPosOptions options);
  std::string name() const override { return "relpos"; }
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;

 protected:
  std::pair<torch::Tensor, torch::Tensor> classifier_inputs(const data::Batch& batch) override;

 private:
  RelPosOptions options_;
};

}  // namespace ssl::trainers
