#pragma once
#include "sslkit/data/views/two_views.h"
#include "sslkit/losses/barlow_twins.h"
#include "sslkit/ssl/heads.h"
#include "sslkit/trainers/method.h"

namespace ssl::trainers {

/// Barlow Twins hyper-parameters (Zbontar et al. 2021), scaled for 28x28 Fashion-MNIST.
struct BarlowTwinsMethodOptions {
  /// Width of the projector's 3 layers, the embedding size D (paper: 8192-8192-8192).
  TORCH_ARG(int64_t, projection_dim) = 512;
  /// lambda, the weight of the redundancy-reduction (off-diagonal) term (paper: 0.0051).
  TORCH_ARG(double, off_diagonal_weight) = 0.0051;
  /// Augmentation of each view (SimCLR's pipeline; the paper adds blur and solarization).
  TORCH_ARG(data::ContrastiveAugmentOptions, augment) = {};
};

/// Barlow Twins: encoder + projector (3 layers, BatchNorm and ReLU after the first two) embeds both views;
/// losses::barlow_twins drives their cross-correlation matrix to the identity. Data parallel: the embeddings of
/// every rank are gathered first, so that the statistics are those of the global batch (the official code's
/// SyncBatchNorm and all-reduced c).
class BarlowTwinsMethod : public Method {
 public:
  BarlowTwinsMethod(Encoder encoder, BarlowTwinsMethodOptions options);
  std::string name() const override { return "barlow"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

 private:
  losses::BarlowTwinsOptions loss_options() const;

  Encoder encoder_;
  ProjectionHead projector_{nullptr};
  BarlowTwinsMethodOptions options_;
};

}  // namespace ssl::trainers
