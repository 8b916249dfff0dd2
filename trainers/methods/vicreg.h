#pragma once
#include "sslkit/data/views/two_views.h"
#include "sslkit/losses/vicreg.h"
#include "sslkit/ssl/heads.h"
#include "sslkit/trainers/method.h"

namespace ssl::trainers {

/// VICReg hyper-parameters (Bardes, Ponce & LeCun 2022), scaled for 28x28 Fashion-MNIST.
struct VICRegMethodOptions {
  /// Width of the expander's 3 layers, the embedding size D (paper: 8192-8192-8192).
  TORCH_ARG(int64_t, projection_dim) = 512;
  /// lambda, the weight of the invariance term (paper: 25).
  TORCH_ARG(double, invariance_weight) = 25.0;
  /// mu, the weight of the variance term (paper: 25).
  TORCH_ARG(double, variance_weight) = 25.0;
  /// nu, the weight of the covariance term (paper: 1).
  TORCH_ARG(double, covariance_weight) = 1.0;
  /// Augmentation of each view (SimCLR's pipeline; the paper adds blur and solarization).
  TORCH_ARG(data::ContrastiveAugmentOptions, augment) = {};
};

/// VICReg: encoder + expander (3 layers, BatchNorm and ReLU after the first two) embeds both views; losses::vicreg
/// keeps them invariant, each dimension's standard deviation above 1 and the dimensions decorrelated. Data
/// parallel: the embeddings of every rank are gathered first, so that the variance and covariance are those of
/// the global batch (as the official code's gradient-preserving all-gather).
class VICRegMethod : public Method {
 public:
  VICRegMethod(Encoder encoder, VICRegMethodOptions options);
  std::string name() const override { return "vicreg"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

 private:
  losses::VICRegOptions loss_options() const;

  Encoder encoder_;
  ProjectionHead expander_{nullptr};
  VICRegMethodOptions options_;
};

}  // namespace ssl::trainers
