#pragma once
#include "sslkit/ssl/encoders.h"

#include <torch/nn/modules/container/sequential.h>

namespace ssl {

/// Basic residual block of ResNet-18/34: two conv3x3+BN with an identity or 1x1-conv+BN shortcut.
class BasicBlockImpl : public torch::nn::Module, public BatchNormMembers {
 public:
  /// Output channels of a basic block per `planes`.
  static constexpr int64_t kExpansion = 1;
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);
  /// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
  torch::Tensor forward(const torch::Tensor& x);
  /// Replaces "bn1" or "bn2".
  void replace_batch_norm(const std::string& name, torch::nn::AnyModule replacement) override;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::AnyModule bn1_, bn2_;
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(BasicBlock);

/// Bottleneck block of ResNet-50 (torchvision's v1.5: the stride on the 3x3 convolution): conv1x1 to `planes`,
/// conv3x3, conv1x1 to 4 * `planes`, each followed by BN, with an identity or 1x1-conv+BN shortcut.
class BottleneckImpl : public torch::nn::Module, public BatchNormMembers {
 public:
  /// Output channels of a bottleneck block per `planes`.
  static constexpr int64_t kExpansion = 4;
  BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride);
  /// relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)).
  torch::Tensor forward(const torch::Tensor& x);
  /// Replaces "bn1", "bn2" or "bn3".
  void replace_batch_norm(const std::string& name, torch::nn::AnyModule replacement) override;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::AnyModule bn1_, bn2_, bn3_;
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(Bottleneck);

/// Residual networks of He et al. 2016 without their classifier: a stem, four stages of 64, 128, 256 and 512
/// planes (the last three at stride 2), global average pool. The CIFAR stem (conv3x3 stride 1, no max-pool) keeps
/// small images' resolution; the ImageNet stem (conv7x7 stride 2 + max-pool 3x3 stride 2) is the paper's.
class ResNetImpl : public EncoderImpl {
 public:
  /// The blocks of one architecture: basic or bottleneck blocks, and how many per stage.
  struct Layout {
    bool bottleneck;
    std::vector<int64_t> blocks_per_stage;
  };
  /// ResNet-18: basic blocks 2, 2, 2, 2.
  static Layout resnet18() { return {false, {2, 2, 2, 2}}; }
  /// ResNet-34: basic blocks 3, 4, 6, 3.
  static Layout resnet34() { return {false, {3, 4, 6, 3}}; }
  /// ResNet-50: bottleneck blocks 3, 4, 6, 3.
  static Layout resnet50() { return {true, {3, 4, 6, 3}}; }

  /// `name` is the registry name used in errors; `options.stem()` picks the stem ("auto": by image size).
  ResNetImpl(const EncoderOptions& options, const Layout& layout, const std::string& name);
  torch::Tensor feature_map(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return feature_dim_; }
  std::string stem() const override { return options.stem(); }
  /// The options this encoder was built with, the stem resolved.
  EncoderOptions options;

 private:
  torch::nn::Sequential body_{nullptr};
  int64_t feature_dim_;
};

/// The stem `stem` resolves to for images of `image_size` px: "cifar" or "imagenet"; throws one line naming
/// `name` for anything but auto, cifar, imagenet.
std::string resolve_stem(const std::string& stem, int64_t image_size, const std::string& name);

}  // namespace ssl
