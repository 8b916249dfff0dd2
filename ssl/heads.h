#pragma once
#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

namespace ssl {

/// Options of the MLP heads of the two-view methods: SimCLR's and MoCo's projection head g(h) (Linear-ReLU-Linear),
/// BYOL's and SimSiam's predictors, and the 3-layer projectors of SimSiam, Barlow Twins and VICReg.
struct ProjectionHeadOptions {
  explicit ProjectionHeadOptions(int64_t in_dim) : in_dim_(in_dim) {}
  /// Width of the encoder representation fed to the head.
  TORCH_ARG(int64_t, in_dim);
  /// Width of the hidden layer.
  TORCH_ARG(int64_t, hidden_dim) = 256;
  /// Width of the projection the loss sees.
  TORCH_ARG(int64_t, out_dim) = 128;
  /// Insert BatchNorm1d after each hidden linear layer (SimCLR v2 / MoCo v3 style); those layers then have no bias.
  TORCH_ARG(bool, batch_norm) = false;
  /// Linear layers, >= 2: `layers - 1` hidden ones of width `hidden_dim`, then the output layer (SimSiam's,
  /// Barlow Twins' and VICReg's projectors have 3).
  TORCH_ARG(int64_t, layers) = 2;
  /// BatchNorm1d without affine parameters after the output layer (SimSiam's projector).
  TORCH_ARG(bool, output_batch_norm) = false;
};

/// (Linear(in, hidden) [-> BatchNorm1d] -> ReLU) then layers - 2 more of Linear(hidden, hidden) [-> BatchNorm1d]
/// -> ReLU, then Linear(hidden, out) [-> BatchNorm1d(out, affine=false)]. The default (2 layers) keeps the
/// parameter names of earlier checkpoints.
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
