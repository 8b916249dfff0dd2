#pragma once
#include "sslkit/data/augment.h"
#include "sslkit/data/views/view_maker.h"
#include "sslkit/trainers/method.h"

#include <torch/nn/modules/container/sequential.h>

#include <functional>
#include <utility>

namespace ssl::trainers {

/// The rows of `x` [N, D] scaled to unit L2 norm.
torch::Tensor unit_rows(const torch::Tensor& x);

/// Fraction of the rows of `logits` [N, C] whose largest entry is at their `targets` [N] (int64).
double top1_accuracy(const torch::Tensor& logits, const torch::Tensor& targets);

/// Encodes the N patches of every image in one encoder pass: [B, N, C, h, w] -> [B, N, feature_dim].
/// The encoder sees each patch as an image of its own (global average pool over the patch's feature map).
torch::Tensor encode_patches(EncoderImpl& encoder, const torch::Tensor& patches);

/// The features [B, feature_dim] of every view [B, C, H_v, W_v], each run of consecutive views of one size in one
/// encoder pass (multi-crop's global crops together, then its local crops together, as DINO's MultiCropWrapper):
/// BatchNorm statistics are those of each size's group.
std::vector<torch::Tensor> encode_views(EncoderImpl& encoder, const std::vector<torch::Tensor>& views);

/// `head` applied to the encoder's features of every view of a two-view or multi-crop batch: the two global views
/// each in a pass of its own through encoder and head, the local crops of one size together in one pass through
/// both (BatchNorm statistics per global view and per local size), split back into one output per view.
std::vector<torch::Tensor> forward_global_and_local_views(
    EncoderImpl& encoder, const std::function<torch::Tensor(const torch::Tensor&)>& head,
    const std::vector<torch::Tensor>& views);

/// Two views of `augment` when `local_crops` is 0, else multi-crop: those two as the global crops plus
/// `local_crops` local crops of side `local_crop_size` (byol and simclr's `--view multi-crop`).
std::shared_ptr<const data::ViewMaker> two_views_or_multi_crop(const data::ContrastiveAugmentOptions& augment,
                                                               int64_t local_crops, int64_t local_crop_size,
                                                               const data::Normalization& norm);

/// Linear(in, hidden) -> ReLU -> Linear(hidden, classes), or Linear(in, classes) when `hidden_dim` is 0.
torch::nn::Sequential make_classifier(int64_t in_dim, int64_t hidden_dim, int64_t classes);

/// Loads `state[name]` (saved by a method's `extra_state`) into `module`; throws naming `method` and `name`
/// when the state has no such entry or it does not fit.
void load_state_entry(const std::map<std::string, TensorDict>& state, const std::string& name,
                      torch::nn::Module& module, const std::string& method);

/// Copies `from`'s parameters and buffers into `to` (of the same architecture, else throws naming `what`) and
/// freezes `to`'s parameters: a target or key network that gradients never update (moco, byol).
void copy_and_freeze(const torch::nn::Module& from, torch::nn::Module& to, const std::string& what);

/// target <- momentum * target + (1 - momentum) * online for every parameter, in place and without gradient;
/// the buffers (BatchNorm running statistics) are left to the target's own forward passes.
void ema_update(const torch::nn::Module& online, torch::nn::Module& target, double momentum);

/// The EMA momentum of BYOL's cosine schedule at `progress` = k / K of the run:
/// tau = 1 - (1 - tau_base) (cos(pi k / K) + 1) / 2, so tau_base at the start and 1 at the end.
double byol_momentum(double base, double progress);

/// The momentum of an EMA target network (byol's target, mocov3's momentum encoder, dino's teacher) along the run:
/// `byol_momentum` from a base momentum at the progress the loop last set.
class EmaSchedule {
 public:
  /// Refuses a `base` outside [0, 1], naming `method` ("byol ema momentum must be in [0, 1], got 1.5").
  EmaSchedule(double base, const std::string& method);
  /// Sets the progress k / K of the run.
  void set_progress(double fraction) { progress_ = fraction; }
  /// The progress last set (0 before any).
  double progress() const { return progress_; }
  /// The momentum at the current progress.
  double momentum() const { return byol_momentum(base_, progress_); }

 private:
  double base_;
  double progress_ = 0;
};

/// Base of the methods that classify a pretext label (rotnet, jigsaw, relpos): the encoder, a classifier on
/// what `classifier_inputs` makes of a batch, cross-entropy (in fp32) against its targets, and the pretext
/// accuracy as the metric "accuracy". The classifier is saved as the extra state "classifier".
class PretextClassifier : public Method {
 public:
  /// A classifier from `in_dim` to `classes` with `hidden_dim` hidden units (0: linear) on top of `encoder`.
  PretextClassifier(Encoder encoder, int64_t in_dim, int64_t hidden_dim, int64_t classes);
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

 protected:
  /// The classifier's inputs [M, in_dim] (computed with the encoder) and their int64 targets [M].
  virtual std::pair<torch::Tensor, torch::Tensor> classifier_inputs(const data::Batch& batch) = 0;
  /// The encoder being trained.
  Encoder encoder_;

 private:
  torch::nn::Sequential classifier_{nullptr};
};

}  // namespace ssl::trainers
