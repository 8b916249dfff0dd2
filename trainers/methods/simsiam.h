#pragma once
#include "sslkit/data/views/two_views.h"
#include "sslkit/ssl/heads.h"
#include "sslkit/trainers/method.h"

namespace ssl::trainers {

/// SimSiam hyper-parameters (Chen & He 2021, "Exploring Simple Siamese Representation Learning"), scaled for
/// 28x28 Fashion-MNIST.
struct SimSiamOptions {
  /// Width of the projector's layers and of its output z (paper: 2048).
  TORCH_ARG(int64_t, projection_dim) = 256;
  /// Bottleneck width of the predictor h (paper: 512, a quarter of the output).
  TORCH_ARG(int64_t, prediction_hidden_dim) = 64;
  /// Augmentation of each view (SimCLR's pipeline, as the paper).
  TORCH_ARG(data::ContrastiveAugmentOptions, augment) = {};
};

/// SimSiam: encoder + projector (3 layers with BatchNorm, BatchNorm on the output) gives z, a bottleneck
/// predictor (Linear-BN-ReLU-Linear) gives p, and the loss D(p1, z2) / 2 + D(p2, z1) / 2 with
/// D = losses::negative_cosine, whose stop-gradient on z is the method. No EMA, no negatives.
class SimSiam : public Method {
 public:
  SimSiam(Encoder encoder, SimSiamOptions options);
  std::string name() const override { return "simsiam"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

 private:
  Encoder encoder_;
  ProjectionHead projector_{nullptr}, predictor_{nullptr};
  SimSiamOptions options_;
};

}  // namespace ssl::trainers
