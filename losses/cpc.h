#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>

namespace ssl::losses {

/// Options for `CPC`, contrastive predictive coding (van den Oord et al. 2018).
struct CPCOptions {
  /// `dim` is the size D of each encoded patch (or time step).
  explicit CPCOptions(int64_t dim) : dim_(dim) {}
  /// Size D of the encoded patches z.
  TORCH_ARG(int64_t, dim);
  /// Size of the GRU context vectors c.
  TORCH_ARG(int64_t, context_dim) = 256;
  /// Number K of future steps (rows, for grids) predicted from each context, with one W_k each.
  TORCH_ARG(int64_t, steps) = 3;
};

/// What `CPC` returns.
struct CPCOutput {
  /// Mean over k = 1..K of the InfoNCE loss of step k (a scalar that carries gradients).
  at::Tensor loss;
  /// [K] InfoNCE loss of each step k = 1..K (detached).
  at::Tensor step_losses;
  /// [K] fraction of predictions of step k whose highest score is their true future patch (detached).
  at::Tensor accuracy;
};

/// CPC head: a GRU context network over the encoded patches, predictions W_k c_t of z_{t+k} for k = 1..K, each
/// scored with the dot-product critic z . W_k c_t against every target of the same step in the batch (all
/// sequences and positions; InfoNCE with temperature 1). Input: a sequence [B, T, D] or a patch grid
/// [B, D, G, G]. For a grid, the GRU runs down each column of patches (top to bottom), so the context of
/// row r sees rows 0..r of its own column and predicts the patches k rows below it, as in CPC's image set-up
/// with a column-wise autoregressive context instead of its masked convolution.
class CPCImpl : public torch::nn::Cloneable<CPCImpl> {
 public:
  explicit CPCImpl(CPCOptions options);
  /// Validates the options and builds the GRU and the K linear maps.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// Loss and per-step accuracy for z of shape [B, T, D] (T > K) or [B, D, G, G] (G > K).
  CPCOutput forward(const at::Tensor& z);
  /// The options this module was built with.
  CPCOptions options;
  /// Autoregressive context network (batch-first GRU, D -> context_dim).
  torch::nn::GRU context{nullptr};
  /// predictors[k - 1] is W_k: context_dim -> D, without bias.
  torch::nn::ModuleList predictors{nullptr};
};
TORCH_MODULE(CPC);

}  // namespace ssl::losses
