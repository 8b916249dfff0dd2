#pragma once
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/serialize.h>

#include <memory>
#include <string>
#include <vector>

namespace ssl::trainers {

/// Which optimizer to build and its hyper-parameters.
struct OptimizerOptions {
  /// "adam", "adamw", "sgd" or "lars".
  TORCH_ARG(std::string, name) = "adam";
  /// Peak learning rate (reached after warmup).
  TORCH_ARG(double, lr) = 1e-3;
  /// L2 / decoupled weight decay, applied to weights only (never to BatchNorm parameters or biases).
  TORCH_ARG(double, weight_decay) = 1e-6;
  /// SGD and LARS momentum.
  TORCH_ARG(double, momentum) = 0.9;
  /// SGD and LARS with Nesterov momentum.
  TORCH_ARG(bool, nesterov) = false;
};

/// Hyper-parameters of LARS (You et al. 2017), as in SimCLR's implementation.
struct LARSOptions : public torch::optim::OptimizerCloneableOptions<LARSOptions> {
  /// Options with global learning rate `lr`.
  LARSOptions(double lr = 0.1) : lr_(lr) {}  // NOLINT(google-explicit-constructor)
  /// Global learning rate.
  TORCH_ARG(double, lr);
  /// Heavy-ball momentum.
  TORCH_ARG(double, momentum) = 0.9;
  /// Nesterov momentum.
  TORCH_ARG(bool, nesterov) = false;
  /// L2 weight decay added to the gradient before the trust ratio is computed.
  TORCH_ARG(double, weight_decay) = 0.0;
  /// Trust coefficient eta: the layer's learning rate is lr * eta * ||w|| / ||g||.
  TORCH_ARG(double, trust_coefficient) = 0.001;
  /// Whether the group's learning rate is scaled by the trust ratio (SimCLR: off for BatchNorm and biases).
  TORCH_ARG(bool, adapt) = true;

 public:
  /// Reads the options from an optimizer archive.
  void serialize(torch::serialize::InputArchive& archive) override;
  /// Writes the options into an optimizer archive.
  void serialize(torch::serialize::OutputArchive& archive) const override;
  /// The learning rate (what the schedule sets).
  double get_lr() const override { return lr(); }
  /// Sets the learning rate.
  void set_lr(const double lr) override { this->lr(lr); }
};

/// Per-parameter state of LARS: the momentum buffer.
struct LARSParamState : public torch::optim::OptimizerCloneableParamState<LARSParamState> {
  /// Velocity v in v <- m v + lr_layer g.
  TORCH_ARG(torch::Tensor, momentum_buffer);

 public:
  /// Reads the buffer from an optimizer archive.
  void serialize(torch::serialize::InputArchive& archive) override;
  /// Writes the buffer into an optimizer archive.
  void serialize(torch::serialize::OutputArchive& archive) const override;
};

/// Layer-wise adaptive rate scaling (You et al. 2017, "Large Batch Training of Convolutional Networks"), the
/// variant of SimCLR's LARSOptimizer: g <- g + wd w; trust = eta ||w|| / ||g|| (1 when either norm is 0,
/// or when the group does not adapt); v <- m v + lr trust g; w <- w - v (Nesterov: w <- w - (m v + lr trust g)).
class LARS : public torch::optim::Optimizer {
 public:
  /// LARS over `param_groups` (each with its own LARSOptions; `defaults` for groups added later).
  LARS(std::vector<torch::optim::OptimizerParamGroup> param_groups, LARSOptions defaults);
  /// One update of every parameter with a gradient.
  torch::Tensor step(LossClosure closure = nullptr) override;
  /// Writes the momentum buffers and group options (LibTorch's optimizer archive layout).
  void save(torch::serialize::OutputArchive& archive) const override;
  /// Restores what `save` wrote into an optimizer over the same parameter groups.
  void load(torch::serialize::InputArchive& archive) override;
};

/// Throws one line naming the value when an optimizer option is out of range (unknown name, a learning rate
/// that is not finite and > 0, weight decay < 0, momentum outside [0, 1), Nesterov without momentum).
void validate(const OptimizerOptions& options);

/// The optimizer names `make_optimizer` accepts.
std::vector<std::string> optimizer_names();

/// Builds the optimizer over `modules`' parameters in two groups: tensors of rank >= 2 (conv and linear
/// weights) with weight decay, rank <= 1 (biases, BatchNorm) without (for LARS also without the trust ratio).
/// Throws listing valid names.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::vector<std::shared_ptr<torch::nn::Module>>& modules, const OptimizerOptions& options);

/// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace ssl::trainers
