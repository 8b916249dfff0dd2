#pragma once
#include "sslkit/data/views/rotations.h"
#include "sslkit/trainers/methods/pretext.h"

namespace ssl::trainers {

/// RotNet hyper-parameters (Gidaris et al. 2018, "Unsupervised Representation Learning by Predicting Image
/// Rotations").
struct RotNetOptions {
  /// Hidden width of the classifier on the encoder's pooled features (0: linear). The paper's classifier is the
  /// network's upper blocks; an MLP keeps the encoder's last layer from specializing in rotations alone.
  TORCH_ARG(int64_t, hidden_dim) = 256;
  /// The rotations view: all four rotations of every image in the same batch (the paper's best setting).
  TORCH_ARG(data::RotationsOptions, view) = {};
};

/// RotNet: every image at 0/90/180/270 degrees through the encoder (one pass over the 4B images), a
/// classifier on the pooled features, 4-way cross-entropy; "accuracy" is the rotation accuracy.
class RotNet : public PretextClassifier {
 public:
  RotNet(Encoder encoder, RotNetOptions options);
  std::string name() const override { return "rotnet"; }
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;

 protected:
  std::pair<torch::Tensor, torch::Tensor> classifier_inputs(const data::Batch& batch) override;

 private:
  RotNetOptions options_;
};

}  // namespace ssl::trainers
