#pragma once
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace ssl {

/// Options of the MLP projection head g(h) used by contrastive methods (SimCLR's Linear-ReLU-Linear).
struct ProjectionHeadOptions {
  explicit ProjectionHeadOptions(int64_t in_dim) : in_dim_(in_dim) {}
  /// Width of the encoder representation fed to the head.
  TORCH_ARG(int64_t, in_dim);
  /// Width of the hidden layer.
  TORCH_ARG(int64_t, hidden_dim) = 256;
  /// Width of the projection the loss sees.
  TORCH_ARG(int64_t, out_dim) = 128;
  /// Insert BatchNorm1d after the hidden linear layer (SimCLR v2 / MoCo v3 style).
  TORCH_ARG(bool, batch_norm) = false;
};

/// Linear(in, hidden) [-> BatchNorm1d] -> ReLU -> Linear(hidden, out).
class ProjectionHeadImpl : public torch::nn::Cloneable<ProjectionHeadImpl> {
 public:
  explicit ProjectionHeadImpl(const ProjectionHeadOptions& options);
  /// Builds and registers the layers after validating the options.
  void reset() override;
  /// Prints the layer widths.
  void pretty_print(std::ostream& stream) const override;
  /// [B, in_dim] -> [B, out_dim].
  torch::Tensor forward(const torch::Tensor& h);
  /// The options this head was built with.
  ProjectionHeadOptions options;

 private:
  torch::nn::Sequential mlp_{nullptr};
};
TORCH_MODULE(ProjectionHead);

}  // namespace ssl
