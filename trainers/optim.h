#pragma once
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <memory>
#include <string>
#include <vector>

namespace ssl::trainers {

/// Which optimizer to build and its hyper-parameters.
struct OptimizerOptions {
  /// "adam", "adamw" or "sgd".
  TORCH_ARG(std::string, name) = "adam";
  /// Peak learning rate (reached after warmup).
  TORCH_ARG(double, lr) = 1e-3;
  /// L2 / decoupled weight decay, applied to weights only (never to BatchNorm parameters or biases).
  TORCH_ARG(double, weight_decay) = 1e-6;
  /// SGD momentum.
  TORCH_ARG(double, momentum) = 0.9;
  /// SGD with Nesterov momentum.
  TORCH_ARG(bool, nesterov) = false;
};

/// The optimizer names `make_optimizer` accepts.
std::vector<std::string> optimizer_names();

/// Builds the optimizer over `modules`' parameters in two groups: tensors of rank >= 2 (conv and linear
/// weights) with weight decay, rank <= 1 (biases, BatchNorm) without. Throws listing valid names.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(
    const std::vector<std::shared_ptr<torch::nn::Module>>& modules, const OptimizerOptions& options);

/// Sets the learning rate of every parameter group.
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace ssl::trainers
