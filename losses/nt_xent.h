#pragma once
#include "sslkit/losses/reduction.h"

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace ssl::losses {

/// Options for `nt_xent`, SimCLR's normalized temperature-scaled cross entropy (Chen et al. 2020).
struct NTXentOptions {
  /// Softmax temperature tau dividing the cosine similarities; must be > 0.
  TORCH_ARG(double, temperature) = 0.5;
  /// Mean over the 2N anchors (the paper's definition), sum, or none (a [2N] tensor).
  TORCH_ARG(Reduction, reduction) = Reduction::Mean;
};

/// NT-Xent over two views z1, z2 of shape [N, D]: the 2N rows are L2-normalized, anchor k's positive
/// is its other view and the remaining 2N-2 rows are its negatives:
///   l_k = -s(k, pos(k)) / tau + log sum_{j != k} exp(s(k, j) / tau),   s = cosine similarity.
/// Rows 0..N-1 of the unreduced result are the anchors of z1, rows N..2N-1 those of z2.
at::Tensor nt_xent(const at::Tensor& z1, const at::Tensor& z2, const NTXentOptions& options = {});

/// NT-Xent over V >= 2 views [N, D] of the same N images (multi-crop; solo-learn's `simclr_loss_func`): the V*N
/// rows are L2-normalized and anchor k's positives P(k) are the other V - 1 views of its image:
///   l_k = -log sum_{p in P(k)} exp(s(k, p) / tau) + log sum_{j != k} exp(s(k, j) / tau).
/// Two views give `nt_xent(views[0], views[1])`. Rows v*N..(v+1)*N-1 of the unreduced result are view v's anchors.
at::Tensor multi_view_nt_xent(const std::vector<at::Tensor>& views, const NTXentOptions& options = {});

/// Module wrapper of `nt_xent`.
class NTXentLossImpl : public torch::nn::Cloneable<NTXentLossImpl> {
 public:
  explicit NTXentLossImpl(NTXentOptions options = {});
  /// Validates the options; holds no parameters.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// Calls `nt_xent(z1, z2, options)`.
  at::Tensor forward(const at::Tensor& z1, const at::Tensor& z2);
  /// The options this module was built with.
  NTXentOptions options;
};
TORCH_MODULE(NTXentLoss);

}  // namespace ssl::losses
