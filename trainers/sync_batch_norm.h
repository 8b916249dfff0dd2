#pragma once
#include "sslkit/trainers/distributed.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>

#include <memory>
#include <string>
#include <vector>

namespace ssl::trainers {

/// Batch normalization with the statistics of the global batch: in training, each channel's sum, sum of squares
/// and count over `x` [N, C, *] are summed over the ranks (one all-reduce), and the backward pass sums the
/// per-channel sums of dy and dy * x_hat over the ranks (one all-reduce), so every rank's output and input
/// gradient equal those of one BatchNorm over the concatenated batch. `weight` and `bias` get this rank's
/// part of their gradient (the sum over ranks is the single-process one). `running_mean` / `running_var`
/// (may be undefined) are updated in place with the global mean and the unbiased global variance.
/// A null `group` normalizes with this rank's batch alone.
torch::Tensor sync_batch_norm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                              torch::Tensor running_mean, torch::Tensor running_var, double momentum, double eps,
                              ProcessGroup* group);

/// A BatchNorm layer (1d, 2d or 3d) whose training-mode statistics are synchronized across the ranks of a
/// group. It holds the replaced layer's own weight, bias and running statistics under the same names, so
/// checkpoints and optimizers see the same tensors; in evaluation mode it is an ordinary BatchNorm.
class SyncBatchNormImpl : public torch::nn::Module {
 public:
  /// Takes over `options` and the parameters and buffers of a BatchNorm layer.
  SyncBatchNormImpl(const torch::nn::BatchNormOptions& options, torch::Tensor weight, torch::Tensor bias,
                    torch::Tensor running_mean, torch::Tensor running_var, torch::Tensor num_batches_tracked,
                    std::shared_ptr<ProcessGroup> group);
  /// Normalizes `x` [N, C, *].
  torch::Tensor forward(const torch::Tensor& x);
  /// The options of the replaced layer.
  torch::nn::BatchNormOptions options;

 private:
  torch::Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
  std::shared_ptr<ProcessGroup> group_;
};
TORCH_MODULE(SyncBatchNorm);

/// Replaces every BatchNorm layer inside `modules` that is held in a Sequential or by an `ssl::BatchNormMembers`
/// module (the ResNet blocks) by a SyncBatchNorm over `group`; returns how many were replaced. Throws naming the
/// first BatchNorm layer held otherwise (a plain module member cannot be swapped from outside).
int64_t convert_sync_batch_norm(const std::vector<std::shared_ptr<torch::nn::Module>>& modules,
                                const std::shared_ptr<ProcessGroup>& group);

/// Whether any of `modules` holds a SyncBatchNorm layer.
bool has_sync_batch_norm(const std::vector<std::shared_ptr<torch::nn::Module>>& modules);

}  // namespace ssl::trainers
