#pragma once
#include "sslkit/data/views/multi_crop.h"
#include "sslkit/data/views/two_views.h"
#include "sslkit/losses/nt_xent.h"
#include "sslkit/ssl/heads.h"
#include "sslkit/trainers/method.h"

namespace ssl::trainers {

/// SimCLR hyper-parameters (Chen et al. 2020), scaled for small images.
struct SimCLROptions {
  /// NT-Xent temperature (the paper's 0.5 is for large batches; 0.1 probed best here, docs/results.md).
  TORCH_ARG(double, temperature) = 0.1;
  /// Hidden width of the projection head.
  TORCH_ARG(int64_t, projection_hidden_dim) = 256;
  /// Output width of the projection head.
  TORCH_ARG(int64_t, projection_dim) = 128;
  /// BatchNorm after the head's hidden layer, as in the SimCLR paper.
  TORCH_ARG(bool, projection_batch_norm) = true;
  /// Augmentation of each view.
  TORCH_ARG(data::ContrastiveAugmentOptions, augment) = {};
  /// Local crops after the two views (multi-crop, as solo-learn's SimCLR; the paper has none): 0 keeps two views.
  TORCH_ARG(int64_t, local_crops) = 0;
  /// Side of the local crops in pixels (their area range is multi-crop's default).
  TORCH_ARG(int64_t, local_crop_size) = data::MultiCropOptions().local_crop_size();
};

/// SimCLR: two augmented views, encoder + MLP projection head, NT-Xent over the 2B projections; with local crops,
/// `losses::multi_view_nt_xent` over all the crops (each crop's positives: the image's other crops). Each global
/// view is its own pass; the local crops of one size are one pass (BatchNorm statistics over the group).
class SimCLR : public Method {
 public:
  SimCLR(Encoder encoder, SimCLROptions options);
  std::string name() const override { return "simclr"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

 private:
  Encoder encoder_;
  ProjectionHead head_{nullptr};
  SimCLROptions options_;
};

}  // namespace ssl::trainers
