#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace ssl::losses {

/// Options for the MI critics `SeparableCritic` and `ConcatCritic` (ReLU MLPs, as Poole et al. 2019).
struct CriticOptions {
  /// `x_dim` and `y_dim` are the sizes of the x and y vectors the critic scores.
  CriticOptions(int64_t x_dim, int64_t y_dim) : x_dim_(x_dim), y_dim_(y_dim) {}
  /// Size of the x vectors.
  TORCH_ARG(int64_t, x_dim);
  /// Size of the y vectors.
  TORCH_ARG(int64_t, y_dim);
  /// Width of each hidden layer.
  TORCH_ARG(int64_t, hidden_dim) = 256;
  /// Number of hidden layers (>= 1) of each MLP.
  TORCH_ARG(int64_t, layers) = 2;
  /// Output size of the two encoders of `SeparableCritic` (unused by `ConcatCritic`).
  TORCH_ARG(int64_t, embed_dim) = 32;
};

/// Separable critic f(x, y) = g(x) . h(y) with two MLP encoders g, h: scores all N x N pairs with one matmul.
class SeparableCriticImpl : public torch::nn::Cloneable<SeparableCriticImpl> {
 public:
  explicit SeparableCriticImpl(CriticOptions options);
  /// Validates the options and builds the two encoders.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// The [N, N] score matrix scores[i][j] = g(x_i) . h(y_j) for x [N, x_dim] and y [N, y_dim].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& y);
  /// The options this module was built with.
  CriticOptions options;
  /// Encoder of x.
  torch::nn::Sequential g{nullptr};
  /// Encoder of y.
  torch::nn::Sequential h{nullptr};
};
TORCH_MODULE(SeparableCritic);

/// Concatenation critic f(x, y) = MLP([x, y]): more expressive, but evaluates the MLP on all N^2 pairs.
class ConcatCriticImpl : public torch::nn::Cloneable<ConcatCriticImpl> {
 public:
  explicit ConcatCriticImpl(CriticOptions options);
  /// Validates the options and builds the MLP.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// The [N, N] score matrix scores[i][j] = MLP([x_i, y_j]) for x [N, x_dim] and y [N, y_dim].
  at::Tensor forward(const at::Tensor& x, const at::Tensor& y);
  /// The options this module was built with.
  CriticOptions options;
  /// The MLP on concatenated pairs, ending in one output.
  torch::nn::Sequential mlp{nullptr};
};
TORCH_MODULE(ConcatCritic);

}  // namespace ssl::losses
