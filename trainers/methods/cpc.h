#pragma once
#include "sslkit/data/views/patch_grid.h"
#include "sslkit/losses/cpc.h"
#include "sslkit/trainers/method.h"

namespace ssl::trainers {

/// CPC hyper-parameters (van den Oord et al. 2018, "Representation Learning with Contrastive Predictive
/// Coding"; Henaff et al. 2019, "Data-Efficient Image Recognition with Contrastive Predictive Coding"), scaled
/// for 28x28 images.
struct CPCMethodOptions {
  /// Size of the GRU context vectors (the papers: 4096 over a 7 x 7 grid of ResNet features; 256 here).
  TORCH_ARG(int64_t, context_dim) = 256;
  /// Rows K predicted below each context row (the papers: up to 5 of a 7 x 7 grid; 2 of the 4 x 4 grid here,
  /// so each step has targets from at least 2 rows).
  TORCH_ARG(int64_t, steps) = 2;
  /// The patch grid: 4 x 4 patches of 10 px at a stride of 6 px (the papers: 7 x 7 of 64 px, stride 32).
  TORCH_ARG(data::PatchGridOptions, view) = {};
};

/// CPC: the encoder over each patch of the grid (one pass over the B g^2 patches) gives a feature grid
/// [B, D, g, g]; losses::CPC runs its GRU context network down each column and scores its predictions of the
/// patches K rows below with InfoNCE against every patch of the batch at the same step. "accuracy" is the
/// mean over the K steps of the fraction of predictions whose best-scored patch is the true one.
/// The encoder keeps its BatchNorm (CPC v2 swaps it for layer normalization, because batch statistics over
/// patches of the same images can leak information to the predictions) so that `sslkit probe` rebuilds it as
/// it is; it learns on 10 px patches and is probed on whole images (fully convolutional, global pooling).
class CPCMethod : public Method {
 public:
  CPCMethod(Encoder encoder, CPCMethodOptions options);
  std::string name() const override { return "cpc"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

 private:
  Encoder encoder_;
  losses::CPC cpc_{nullptr};
  CPCMethodOptions options_;
};

}  // namespace ssl::trainers
