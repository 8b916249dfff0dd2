#pragma once
#include "sslkit/data/augment.h"
#include "sslkit/trainers/method.h"

#include <torch/nn/modules/linear.h>

namespace ssl::trainers {

/// The loss instance discrimination trains with.
enum class InstDiscLoss {
  NCE,      ///< the paper's noise-contrastive estimation of the non-parametric softmax (losses::nce)
  Softmax,  ///< the non-parametric softmax itself over the positive row and the K noise rows (losses::info_nce)
};

/// Parses "nce" | "softmax"; throws naming the valid choices otherwise.
InstDiscLoss parse_instdisc_loss(const std::string& name);

/// Instance discrimination hyper-parameters (Wu et al. 2018, "Unsupervised Feature Learning via
/// Non-Parametric Instance Discrimination"); the paper's ImageNet / CIFAR values fit 60k images as they are.
struct InstDiscOptions {
  /// Noise samples K per data sample in the NCE loss (the paper: 4096).
  TORCH_ARG(int64_t, negatives) = 4096;
  /// Temperature tau of the non-parametric softmax exp(v . f / tau) (the paper: 0.07).
  TORCH_ARG(double, temperature) = 0.07;
  /// Memory bank update v_i <- normalize(m v_i + (1 - m) f_i) (the paper's proximal momentum: 0.5).
  TORCH_ARG(double, bank_momentum) = 0.5;
  /// The NCE normalizer follows Z <- m Z + (1 - m) Z_batch, Z_batch = N mean exp(v_j . f / tau) over the step's
  /// noise scores (the first step sets Z = Z_batch). 1 keeps the first batch's estimate for the whole run, as the
  /// paper's code does; 0 (default) re-estimates it every step, since a Z first estimated against a random bank
  /// is wrong once the bank holds real features (docs/results.md).
  TORCH_ARG(double, normalizer_momentum) = 0.0;
  /// NCE (the paper's) or the sampled softmax, which the same bank and noise rows turn into InfoNCE.
  TORCH_ARG(InstDiscLoss, loss) = InstDiscLoss::NCE;
  /// A row's first update stores the image's feature itself rather than mixing it into the random initial row
  /// (the paper mixes; then short runs learn from rows that are still half noise).
  TORCH_ARG(bool, fill_on_first_visit) = true;
  /// Width D of the features: the encoder's output goes through a linear layer to D dims (the paper: 128).
  TORCH_ARG(int64_t, feature_dim) = 128;
  /// Augmentation of each image (the paper: crop, colour jitter, grayscale, flip).
  TORCH_ARG(data::ContrastiveAugmentOptions, augment) = {};
};

/// Instance discrimination: every image is its own class. f = normalize(W encoder(x)) of the augmented image
/// is scored against a memory bank [N, D] of normalized features, one row per training image, with the NCE
/// loss (losses::nce) against K noise rows drawn uniformly from the bank: log p_model(i | f) = v_i . f / tau -
/// log Z, with the normalizer Z = N E[exp(v_j . f / tau)] estimated from the noise scores (see
/// `normalizer_momentum`); noise log-probability -log N. After the step the rows of the batch's images move towards their
/// new features. With `InstDiscLoss::Softmax` the loss is -log of the softmax of v_i . f / tau over the positive
/// row and the K noise rows (no normalizer to estimate). The K noise rows are drawn once per step and shared by the batch's samples, as MoCo shares
/// its queue: a [B, K] matrix product instead of a [B, K, D] gather (537 MB at B = 256, K = 4096, D = 128).
class InstDisc : public Method {
 public:
  /// `num_images` is the size N of the training set (the rows of the memory bank, indexed by Batch::indices).
  InstDisc(Encoder encoder, int64_t num_images, InstDiscOptions options);
  std::string name() const override { return "instdisc"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

  /// Rows `indices` [B] of the bank become normalize(m v + (1 - m) f) for the features f [B, D] (m = 0 on a
  /// row's first update with `fill_on_first_visit`).
  void update_bank(const torch::Tensor& indices, const torch::Tensor& features);
  /// The memory bank [N, D] (unit rows).
  torch::Tensor bank() const;
  /// The NCE normalizer Z (0 until the first step has estimated it).
  double normalizer() const;

 private:
  // The NCE loss of features f [B, D] against the bank rows `indices` and the shared `noise` rows (updates Z).
  torch::Tensor nce_loss(const torch::Tensor& f, const torch::Tensor& bank, const torch::Tensor& indices,
                         const torch::Tensor& noise);

  Encoder encoder_;
  torch::nn::Linear projection_{nullptr};
  /// Holds the buffers "bank" [N, D] and "normalizer" ([1], Z) so that they move with `to` and checkpoint.
  std::shared_ptr<torch::nn::Module> memory_;
  InstDiscOptions options_;
};

}  // namespace ssl::trainers
