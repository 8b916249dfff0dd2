#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace ssl::losses {

/// Options for `barlow_twins` (Zbontar et al. 2021), defaults as facebookresearch/barlowtwins.
struct BarlowTwinsOptions {
  /// lambda weighting the redundancy-reduction (off-diagonal) term; >= 0 (paper: 0.0051, the official `--lambd`).
  TORCH_ARG(double, off_diagonal_weight) = 0.0051;
  /// eps of the affine-free BatchNorm that standardizes each branch, inside the square root; > 0 (BatchNorm1d: 1e-5).
  TORCH_ARG(double, epsilon) = 1e-5;
};

/// Barlow Twins over two views z1, z2 of shape [N, D], N >= 2, as facebookresearch/barlowtwins `BarlowTwins.forward`:
///   z1n, z2n = each view through BatchNorm1d(D, affine=False) in training mode: per dimension, subtract the batch
///              mean and divide by sqrt(biased batch variance + epsilon);
///   c        = z1n^T z2n / N                                  (the [D, D] cross-correlation matrix);
///   loss     = sum_i (1 - c_ii)^2 + lambda sum_{i != j} c_ij^2.
/// Symmetric in z1 and z2; both receive gradients. Under data parallelism pass the gathered global batch (the official
/// code standardizes with SyncBatchNorm and all-reduces c divided by the global batch size, which is the same c).
at::Tensor barlow_twins(const at::Tensor& z1, const at::Tensor& z2, const BarlowTwinsOptions& options = {});

/// Module wrapper of `barlow_twins`.
class BarlowTwinsLossImpl : public torch::nn::Cloneable<BarlowTwinsLossImpl> {
 public:
  explicit BarlowTwinsLossImpl(BarlowTwinsOptions options = {});
  /// Validates the options; holds no parameters.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// Calls `barlow_twins(z1, z2, options)`.
  at::Tensor forward(const at::Tensor& z1, const at::Tensor& z2);
  /// The options this module was built with.
  BarlowTwinsOptions options;
};
TORCH_MODULE(BarlowTwinsLoss);

}  // namespace ssl::losses
