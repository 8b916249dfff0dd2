#pragma once
#include "sslkit/data/views/two_views.h"
#include "sslkit/ssl/heads.h"
#include "sslkit/trainers/method.h"
#include "sslkit/trainers/methods/pretext.h"

namespace ssl::trainers {

/// MoCo v3 hyper-parameters (Chen, Xie and He 2021, "An Empirical Study of Training Self-Supervised Vision
/// Transformers"), with heads scaled for 28x28 Fashion-MNIST.
struct MoCoV3Options {
  /// Softmax temperature tau (paper: 0.2 for ViTs, 1.0 for ResNets).
  TORCH_ARG(double, temperature) = 0.2;
  /// Base EMA momentum of the momentum encoder; it rises to 1 along the run on BYOL's cosine schedule (paper: 0.99).
  TORCH_ARG(double, ema_momentum) = 0.99;
  /// Hidden width of the projector and predictor MLPs (paper: 4096).
  TORCH_ARG(int64_t, hidden_dim) = 512;
  /// Output width of the projector and predictor (paper: 256).
  TORCH_ARG(int64_t, projection_dim) = 128;
  /// Keep a ViT encoder's patch embedding at its random initialization (the paper's stability fix); refused for
  /// encoders without one.
  TORCH_ARG(bool, freeze_patch_embed) = false;
  /// Augmentation of each view (SimCLR's pipeline).
  TORCH_ARG(data::ContrastiveAugmentOptions, augment) = {};
};

/// MoCo v3: the online encoder with a 3-layer projector and a 2-layer predictor (Linear-BN-ReLU hidden layers; the
/// projector ends in an affine-free BatchNorm) queries an EMA momentum encoder + projector of the other view:
/// loss = ctr(q1, k2) + ctr(q2, k1), ctr(q, k) = 2 tau * InfoNCE(q, k) with cosine similarity, the other keys of the
/// batch as negatives (gathered from every rank in a data-parallel run) and no queue, as the official
/// `contrastive_loss`. The momentum network is updated at the start of every step with BYOL's cosine schedule
/// from `ema_momentum` to 1, and gets no gradient.
class MoCoV3 : public Method {
 public:
  /// `encoder` is trained; `momentum_encoder` is an encoder of the same architecture that becomes its EMA copy.
  MoCoV3(Encoder encoder, Encoder momentum_encoder, MoCoV3Options options);
  std::string name() const override { return "mocov3"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;
  /// Sets the progress k / K the next momentum update follows.
  void set_progress(double fraction) override { ema_.set_progress(fraction); }
  /// The momentum of the next update: `byol_momentum(ema_momentum, progress)`.
  double momentum() const { return ema_.momentum(); }
  /// The momentum encoder (EMA copy of the encoder).
  Encoder momentum_encoder() const { return momentum_encoder_; }

 private:
  Encoder encoder_, momentum_encoder_;
  ProjectionHead projector_{nullptr}, predictor_{nullptr}, momentum_projector_{nullptr};
  MoCoV3Options options_;
  EmaSchedule ema_;
};

/// MoCo v3's contrastive loss of queries `q` against keys `k` [N, D]: 2 tau * InfoNCE with in-batch negatives,
/// cosine similarity and temperature tau (the official `contrastive_loss` on one process).
torch::Tensor mocov3_contrastive_loss(const torch::Tensor& q, const torch::Tensor& k, double temperature);

}  // namespace ssl::trainers
