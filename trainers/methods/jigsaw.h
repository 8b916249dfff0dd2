#pragma once
#include "sslkit/data/views/jigsaw.h"
#include "sslkit/trainers/methods/pretext.h"

namespace ssl::trainers {

/// Jigsaw hyper-parameters (Noroozi & Favaro 2016, "Unsupervised Learning of Visual Representations by Solving
/// Jigsaw Puzzles"), scaled for 28x28 images.
struct JigsawMethodOptions {
  /// Hidden width of the MLP on the 9 concatenated tile features (the paper's fc7: 4096 over 9 x 512).
  TORCH_ARG(int64_t, hidden_dim) = 512;
  /// The jigsaw view: 3 x 3 tiles of 7 px, P = 100 permutations (the paper: 1000 on ImageNet).
  TORCH_ARG(data::JigsawOptions, view) = {};
};

/// Jigsaw: the shared encoder over each of the 9 shuffled tiles (one pass over the 9B tiles), the pooled tile
/// features concatenated in slot order, an MLP to P classes, cross-entropy against the permutation index;
/// "accuracy" is the permutation accuracy. The encoder learns on 7 px tiles and is probed on whole images:
/// every registered encoder is fully convolutional with global pooling, so it accepts both (BatchNorm's
/// running statistics come from tiles).
class JigsawMethod : public PretextClassifier {
 public:
  JigsawMethod(Encoder encoder, JigsawMethodOptions options);
  std::string name() const override { return "jigsaw"; }
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;

 protected:
  std::pair<torch::Tensor, torch::Tensor> classifier_inputs(const data::Batch& batch) override;

 private:
  JigsawMethodOptions options_;
};

}  // namespace ssl::trainers
