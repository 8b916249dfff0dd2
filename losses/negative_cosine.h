#pragma once
#include "sslkit/losses/reduction.h"

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

namespace ssl::losses {

/// Options for `negative_cosine`.
struct NegativeCosineOptions {
  /// Mean over the N pairs (SimSiam's D and the paper's definition), sum, or none (a [N] tensor of -cos).
  TORCH_ARG(Reduction, reduction) = Reduction::Mean;
};

/// Negative cosine similarity of predictions p and stop-gradient targets z, both [N, D]:
///   l_i = -<p_i / ||p_i||, z_i / ||z_i||>   (norms clamped at 1e-12, as F.normalize),
/// so the mean is SimSiam's D(p, z) = -mean_i cos(p_i, stopgrad(z_i)) (Chen & He 2021, Algorithm 1) and BYOL's
/// loss ||p_n - z_n||^2 = 2 - 2 cos is 2 + 2 * negative_cosine(p, z) (Grill et al. 2020). z is detached inside: it
/// never receives a gradient. Symmetrize as in the papers: negative_cosine(p1, z2) / 2 + negative_cosine(p2, z1) / 2.
at::Tensor negative_cosine(const at::Tensor& p, const at::Tensor& z, const NegativeCosineOptions& options = {});

/// Module wrapper of `negative_cosine`.
class NegativeCosineLossImpl : public torch::nn::Cloneable<NegativeCosineLossImpl> {
 public:
  explicit NegativeCosineLossImpl(NegativeCosineOptions options = {});
  /// Holds no parameters and has nothing to validate.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// Calls `negative_cosine(p, z, options)`.
  at::Tensor forward(const at::Tensor& p, const at::Tensor& z);
  /// The options this module was built with.
  NegativeCosineOptions options;
};
TORCH_MODULE(NegativeCosineLoss);

}  // namespace ssl::losses
