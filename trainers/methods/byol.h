#pragma once
#include "sslkit/data/views/multi_crop.h"
#include "sslkit/data/views/two_views.h"
#include "sslkit/ssl/heads.h"
#include "sslkit/trainers/method.h"
#include "sslkit/trainers/methods/pretext.h"

namespace ssl::trainers {

/// BYOL hyper-parameters (Grill et al. 2020, "Bootstrap Your Own Latent"), scaled for 28x28 Fashion-MNIST.
struct BYOLOptions {
  /// Base EMA momentum tau_base of the target network; tau rises from it to 1 along the run (paper: 0.996).
  TORCH_ARG(double, ema_momentum) = 0.996;
  /// Hidden width of the projector and of the predictor (paper: 4096, for ResNet-50's 2048-d features).
  TORCH_ARG(int64_t, hidden_dim) = 256;
  /// Output width of the projector and of the predictor (paper: 256).
  TORCH_ARG(int64_t, projection_dim) = 128;
  /// Augmentation of each view (SimCLR's pipeline; the paper's asymmetric blur and solarization are not used).
  TORCH_ARG(data::ContrastiveAugmentOptions, augment) = {};
  /// Local crops after the two views (multi-crop, as solo-learn's BYOL; the paper has none): 0 keeps two views.
  TORCH_ARG(int64_t, local_crops) = 0;
  /// Side of the local crops in pixels, and their area range (multi-crop's defaults).
  TORCH_ARG(int64_t, local_crop_size) = data::MultiCropOptions().local_crop_size();
};

/// BYOL: an online network (encoder, projector, predictor; each MLP Linear-BN-ReLU-Linear) predicts the
/// projection of the other view by a target network (encoder, projector) that is an EMA of the online one.
/// Loss per direction 2 - 2 cos(p, z') = 2 + 2 * losses::negative_cosine(p, z'), summed over both view orders;
/// with local crops (multi-crop), summed over every pair of a target global view and another online crop (each
/// global view its own pass, the local crops of one size one pass); the target gets no gradient. The target is
/// updated at the start of every step (after the previous optimizer step) with the momentum at the loop's progress
/// (`set_progress`), and runs in training mode (batch statistics), only its parameters being EMA-updated, as in the
/// reference code.
class BYOL : public Method {
 public:
  /// `encoder` is trained; `target_encoder` is an encoder of the same architecture that becomes its EMA copy.
  BYOL(Encoder encoder, Encoder target_encoder, BYOLOptions options);
  std::string name() const override { return "byol"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;
  /// Sets the progress k / K the next target update's momentum follows.
  void set_progress(double fraction) override { ema_.set_progress(fraction); }

  /// The momentum of the next target update: `byol_momentum(ema_momentum, progress)`.
  double momentum() const { return ema_.momentum(); }
  /// target <- tau target + (1 - tau) online for every parameter of the target encoder and projector.
  void update_target();
  /// The target encoder (EMA copy of the encoder).
  Encoder target_encoder() const { return target_encoder_; }
  /// The online projector.
  ProjectionHead projector() const { return projector_; }
  /// The target projector (EMA copy of the projector).
  ProjectionHead target_projector() const { return target_projector_; }

 private:
  Encoder encoder_, target_encoder_;
  ProjectionHead projector_{nullptr}, predictor_{nullptr}, target_projector_{nullptr};
  BYOLOptions options_;
  EmaSchedule ema_;
};

}  // namespace ssl::trainers
