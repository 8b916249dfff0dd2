#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace ssl::losses {

/// Options for `vicreg` (Bardes, Ponce & LeCun 2022), defaults as the paper and facebookresearch/vicreg.
struct VICRegOptions {
  /// lambda weighting the invariance (mean squared error) term; >= 0 (paper: 25, the official `--sim-coeff`).
  TORCH_ARG(double, invariance_weight) = 25.0;
  /// mu weighting the variance (std hinge) term; >= 0 (paper: 25, the official `--std-coeff`).
  TORCH_ARG(double, variance_weight) = 25.0;
  /// nu weighting the covariance term; >= 0 (paper: 1, the official `--cov-coeff`).
  TORCH_ARG(double, covariance_weight) = 1.0;
  /// epsilon added to each variance before the square root of the variance term; > 0 (paper: 1e-4).
  TORCH_ARG(double, epsilon) = 1e-4;
};

/// VICReg over two views z1 = x, z2 = y of shape [N, D], N >= 2, as Algorithm 1 of Bardes et al. 2022 and
/// facebookresearch/vicreg `VICReg.forward`:
///   invariance = mean over N*D of (x - y)^2                                   (F.mse_loss);
///   x, y       = each view minus its batch mean per dimension;
///   std_x      = sqrt(unbiased batch variance of x per dimension + epsilon), std_y alike;
///   variance   = mean_d relu(1 - std_x[d]) / 2 + mean_d relu(1 - std_y[d]) / 2;
///   cov_x      = x^T x / (N - 1), cov_y alike;
///   covariance = sum_{i != j} cov_x[i][j]^2 / D + sum_{i != j} cov_y[i][j]^2 / D;
///   loss       = invariance_weight * invariance + variance_weight * variance + covariance_weight * covariance.
/// Both views receive gradients. Under data parallelism pass the batch gathered over ranks for the variance and
/// covariance terms, as the official code does with its gradient-preserving all-gather.
at::Tensor vicreg(const at::Tensor& z1, const at::Tensor& z2, const VICRegOptions& options = {});

/// Module wrapper of `vicreg`.
class VICRegLossImpl : public torch::nn::Cloneable<VICRegLossImpl> {
 public:
  explicit VICRegLossImpl(VICRegOptions options = {});
  /// Validates the options; holds no parameters.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// Calls `vicreg(z1, z2, options)`.
  at::Tensor forward(const at::Tensor& z1, const at::Tensor& z2);
  /// The options this module was built with.
  VICRegOptions options;
};
TORCH_MODULE(VICRegLoss);

}  // namespace ssl::losses
