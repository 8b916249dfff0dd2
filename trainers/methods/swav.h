#pragma once
#include "sslkit/data/views/multi_crop.h"
#include "sslkit/losses/sinkhorn.h"
#include "sslkit/ssl/heads.h"
#include "sslkit/trainers/method.h"

namespace ssl::trainers {

/// SwAV hyper-parameters (Caron et al. 2020, "Unsupervised Learning of Visual Features by Contrasting Cluster
/// Assignments"), scaled for 28x28 Fashion-MNIST.
struct SwAVOptions {
  /// Hidden width of the projection head (paper: 2048).
  TORCH_ARG(int64_t, hidden_dim) = 512;
  /// Width of the L2-normalized embedding the prototypes score (paper: 128).
  TORCH_ARG(int64_t, projection_dim) = 128;
  /// K, the number of prototypes (paper: 3000, for global batches of 4096; Sinkhorn gives each prototype 1/K of a
  /// batch, so K above the batch size spreads every image's code over several prototypes).
  TORCH_ARG(int64_t, prototypes) = 128;
  /// Temperature of the softmax over the prototype scores (paper: 0.1).
  TORCH_ARG(double, temperature) = 0.1;
  /// Sinkhorn-Knopp regularization epsilon and iterations (paper: 0.05, 3).
  TORCH_ARG(losses::SinkhornOptions, sinkhorn) = {};
  /// Steps at the start during which the prototypes are not trained (paper: 313 iterations).
  TORCH_ARG(int64_t, freeze_prototypes_steps) = 234;
  /// Embeddings of past global crops kept per crop to widen Sinkhorn's batch, 0: no queue (paper: 3840 from epoch
  /// 15 with small batches); a multiple of the global batch. Its scores join once it is full.
  TORCH_ARG(int64_t, queue_size) = 0;
  /// The crops: codes are computed from the 2 global crops, predicted from every other crop (SwAV: global area
  /// 0.14-1, local 0.05-0.14).
  TORCH_ARG(data::MultiCropOptions, crops) =
      data::MultiCropOptions()
          .global(data::ContrastiveAugmentOptions().crop(data::RandomResizedCropOptions().scale_min(0.14)))
          .local_scale_min(0.05)
          .local_scale_max(0.14);
};

/// SwAV: encoder + projection head (Linear-BN-ReLU-Linear, then L2 normalization) embeds every crop; the scores
/// against K unit prototypes (renormalized before every step) of each global crop give Sinkhorn codes
/// (losses::sinkhorn, with the queue's scores when it is full), and every other crop predicts them:
///   loss = mean over global crops i of [sum over v != i of -mean_n sum_k q_i log softmax(scores_v / T)] / (V - 1),
/// as facebookresearch/swav `main_swav.py`. The projection head runs on all crops together (one BatchNorm batch);
/// the encoder on each crop size as one batch. Data parallel: the global crops' scores are gathered so that Sinkhorn
/// sees the global batch (what `distributed_sinkhorn` computes), and each rank takes its own rows of the codes.
class SwAV : public Method {
 public:
  SwAV(Encoder encoder, SwAVOptions options);
  std::string name() const override { return "swav"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

  /// The prototypes [K, projection_dim].
  torch::Tensor prototypes() const;
  /// Steps taken (the prototype freeze counts them).
  int64_t steps() const;

 private:
  /// Codes [B, K] of global crop `crop` from its scores [B, K] (this rank's rows), widened by the queue.
  torch::Tensor codes(int64_t crop, const torch::Tensor& scores, const torch::Tensor& prototypes);
  /// Pushes the global batch's embeddings of the global crops into the queue, newest first.
  void enqueue(const std::vector<torch::Tensor>& embeddings);

  Encoder encoder_;
  ProjectionHead projector_{nullptr};
  std::shared_ptr<torch::nn::Module> prototypes_;  // parameter "weight" [K, D]
  std::shared_ptr<torch::nn::Module> state_;       // buffers "steps" [1], "queue" [2, Q, D], "queued" [1]
  SwAVOptions options_;
};

}  // namespace ssl::trainers
