#pragma once
#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <functional>

namespace ssl::losses {

/// Options for `sinkhorn` (Caron et al. 2020, SwAV), defaults as facebookresearch/swav.
struct SinkhornOptions {
  /// epsilon dividing the scores before the exponential (entropic regularization); > 0 (paper: 0.05).
  TORCH_ARG(double, epsilon) = 0.05;
  /// Rounds of alternating prototype / sample normalization; >= 1 (paper: 3, the official `sinkhorn_iterations`).
  TORCH_ARG(int64_t, iterations) = 3;
  /// Data parallelism: sums a tensor in place over the ranks (e.g. a process group's all-reduce); nullptr alone.
  TORCH_ARG(std::function<void(at::Tensor&)>, all_reduce_sum) = nullptr;
  /// Data parallelism: the number of ranks whose batches are assigned together (B = N * world_size); >= 1.
  TORCH_ARG(int64_t, world_size) = 1;
};

/// SwAV's equipartitioned codes, as facebookresearch/swav `distributed_sinkhorn`, without gradient: from scores
/// [N, K] (samples x prototypes), with B = N * world_size,
///   Q = exp(scores / epsilon)^T                              ([K, N]);
///   Q /= sum(Q)                                              (the sum all-reduced);
///   `iterations` times: Q /= row sums (all-reduced), Q /= K  (each prototype gets 1/K of the mass),
///                       Q /= column sums, Q /= B             (each sample gets 1/B);
///   return (Q * B)^T                                         ([N, K], each row sums to 1).
/// On one process (no all_reduce_sum) the scores are first shifted by their maximum: the factor exp(-max / epsilon)
/// cancels in Q / sum(Q), and exp cannot overflow. With all_reduce_sum the exponential is taken as in SwAV, so keep
/// scores / epsilon below ~88 in float32. Either way, as in SwAV, a prototype whose every score lies more than
/// ~87 epsilon (float32) below the others' underflows to 0 and gives NaN codes; cosine scores against unit prototypes
/// (|scores| <= 1) with epsilon = 0.05 stay far inside both limits. The codes are float32 or wider and carry no
/// gradient (scores is detached inside).
at::Tensor sinkhorn(const at::Tensor& scores, const SinkhornOptions& options = {});

/// Module wrapper of `sinkhorn`.
class SinkhornImpl : public torch::nn::Cloneable<SinkhornImpl> {
 public:
  explicit SinkhornImpl(SinkhornOptions options = {});
  /// Validates the options; holds no parameters.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// Calls `sinkhorn(scores, options)`.
  at::Tensor forward(const at::Tensor& scores);
  /// The options this module was built with.
  SinkhornOptions options;
};
TORCH_MODULE(Sinkhorn);

}  // namespace ssl::losses
