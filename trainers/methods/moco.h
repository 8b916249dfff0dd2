#pragma once
#include "sslkit/data/views/two_views.h"
#include "sslkit/ssl/heads.h"
#include "sslkit/trainers/method.h"

namespace ssl::trainers {

/// MoCo v2 hyper-parameters (He et al. 2020, "Momentum Contrast for Unsupervised Visual Representation
/// Learning"; Chen et al. 2020, "Improved Baselines with Momentum Contrastive Learning"), scaled for 28x28
/// Fashion-MNIST.
struct MoCoOptions {
  /// Key encoder EMA momentum m in theta_k <- m theta_k + (1 - m) theta_q. The papers' 0.999 suits runs of
  /// hundreds of epochs; 0.99 lets the keys follow the faster-changing encoder of a run of a few epochs.
  TORCH_ARG(double, momentum) = 0.99;
  /// Keys K in the queue of negatives (the papers: 65536 for 1.28M images; 4096 for 60k images, ~7% of the
  /// data set as in MoCo's CIFAR-10 set-up, so the queue holds keys from the last ~16 batches of 256).
  TORCH_ARG(int64_t, queue_size) = 4096;
  /// InfoNCE temperature (v2: 0.2).
  TORCH_ARG(double, temperature) = 0.2;
  /// Hidden width of the MLP projection head (v2's 2048 for ResNet-50's 2048-d features, scaled down).
  TORCH_ARG(int64_t, projection_hidden_dim) = 256;
  /// Output width of the projection head, the key size (v2: 128).
  TORCH_ARG(int64_t, projection_dim) = 128;
  /// Symmetric loss: each view is a query against the other's key, the two losses averaged and both key
  /// batches enqueued (twice the forward passes; the papers' loss is asymmetric).
  TORCH_ARG(bool, symmetric) = false;
  /// Shuffling BN on one device: BatchNorm statistics come from this many groups of the batch, contiguous for
  /// the queries and a random permutation of the batch for the keys, so that a query and its positive key are
  /// never normalized with statistics of the same images (the papers' shuffle over 8 GPUs; 1: off).
  TORCH_ARG(int64_t, bn_groups) = 4;
  /// Augmentation of each view (v2 uses SimCLR's pipeline).
  TORCH_ARG(data::ContrastiveAugmentOptions, augment) = {};
};

/// MoCo: query encoder + MLP head trained by InfoNCE (losses::info_nce with explicit negatives) of each query
/// against its key and a queue of keys from earlier batches; keys come from a key encoder + head that is an
/// EMA copy of the query's, updated before the keys of every step are computed.
/// Shuffle-BN: the papers shuffle the key batch across GPUs so that each GPU's BatchNorm statistics come from
/// different samples for queries and keys; here the batch is split into `bn_groups` forward passes instead
/// (queries in order, keys shuffled), which blocks the same shortcut: otherwise a positive key would carry
/// the statistics of exactly its query's batch while the queue's keys carry older batches'. The key encoder
/// runs in training mode (batch statistics; its running statistics follow its own forward passes, as in the
/// reference code, where only the parameters are EMA-updated).
class MoCo : public Method {
 public:
  /// `encoder` is trained; `key_encoder` is an encoder of the same architecture that becomes its EMA copy.
  MoCo(Encoder encoder, Encoder key_encoder, MoCoOptions options);
  std::string name() const override { return "moco"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

  /// theta_k <- m theta_k + (1 - m) theta_q for every parameter of the key encoder and head.
  void update_key_encoder();
  /// Writes `keys` [N, D] (L2-normalized) into the queue at the pointer, wrapping around; advances the pointer.
  void enqueue(const torch::Tensor& keys);
  /// The queue of negatives [K, D] (unit rows).
  torch::Tensor queue() const;
  /// Where the next key is written, in 0..K-1.
  int64_t queue_pointer() const;
  /// The key encoder (EMA copy of the encoder).
  Encoder key_encoder() const { return key_encoder_; }

 private:
  Encoder encoder_, key_encoder_;
  ProjectionHead head_{nullptr}, key_head_{nullptr};
  /// Holds the buffers "queue" [K, D] and "pointer" (int64 [1]) so that they move with `to` and checkpoint.
  std::shared_ptr<torch::nn::Module> queue_;
  MoCoOptions options_;
};

}  // namespace ssl::trainers
