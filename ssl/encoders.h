#pragma once
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ssl {

/// What every encoder is built from: the input's channel count comes from the data.
struct EncoderOptions {
  explicit EncoderOptions(int64_t in_channels) : in_channels_(in_channels) {}
  /// Channels of the input images (1 for Fashion-MNIST, 3 for RGB).
  TORCH_ARG(int64_t, in_channels);
  /// Side of the (square) input images in pixels; recorded in checkpoints, encoders accept any size.
  TORCH_ARG(int64_t, image_size) = 28;
  /// Store the convolution weights channels-last (NHWC), the layout oneDNN's CPU convolutions run fastest on
  /// (docs/results.md); the results equal NCHW's to float rounding.
  TORCH_ARG(bool, channels_last) = true;
};

/// An image encoder: [B, C, H, W] float images to [B, feature_dim()] representations.
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(std::string name) : torch::nn::Module(std::move(name)) {}
  /// The last convolutional feature map, [B, feature_dim(), h, w] (used by dense probes).
  virtual torch::Tensor feature_map(const torch::Tensor& images) = 0;
  /// Global-average-pooled representation, [B, feature_dim()].
  torch::Tensor forward(const torch::Tensor& images) { return feature_map(images).mean({2, 3}); }
  /// Width of the representation.
  virtual int64_t feature_dim() const = 0;
};
/// Encoders are held by shared pointer, like every LibTorch module.
using Encoder = std::shared_ptr<EncoderImpl>;

/// The encoder `sslkit pretrain` trains (and `probe` / `embed` initialize) when none is named.
inline constexpr const char* kDefaultEncoder = "convnet-w";

/// What the encoder registry holds per name: a function building the encoder from its options.
using EncoderFactory = std::function<Encoder(const EncoderOptions&)>;

/// Builds an encoder from its registered name (channels-last if `options.channels_last()`); throws listing
/// the registered names when unknown.
Encoder make_encoder(const std::string& name, const EncoderOptions& options);

/// Makes the module's 4-D parameters and buffers channels-last in place (their values are unchanged).
void to_channels_last(torch::nn::Module& module);

/// Names accepted by `make_encoder`, in registration order.
std::vector<std::string> encoder_names();

/// One line per registered encoder, "  NAME: DESCRIPTION\n", for `--help`.
std::string describe_encoders();

/// Adds (or replaces) an encoder factory under `name`, described by `description` in `--help`.
void register_encoder(const std::string& name, EncoderFactory factory, const std::string& description = "");

/// Plain convolutional encoders: four conv3x3+BN+ReLU blocks (strides 1, 2, 2, 2), global average pool.
/// convnet-s: C->32->64->128->256, 256-d. convnet-w: C->32->64->128->1024, 1024-d; the wider last block is what
/// lifts the linear probe (docs/results.md).
class ConvNetImpl : public EncoderImpl {
 public:
  /// One block per entry of `widths` (its output channels; the first at stride 1, the rest at stride 2);
  /// `name` is the registry name used in errors.
  ConvNetImpl(const EncoderOptions& options, const std::vector<int64_t>& widths, const std::string& name);
  torch::Tensor feature_map(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return feature_dim_; }
  /// The options this encoder was built with.
  EncoderOptions options;

 private:
  torch::nn::Sequential body_{nullptr};
  int64_t feature_dim_;
};

/// Basic residual block of ResNet-18: two conv3x3+BN with an identity or 1x1-conv shortcut.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);
  /// relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::Sequential shortcut_{nullptr};
};
TORCH_MODULE(BasicBlock);

/// ResNet-18 with the CIFAR stem (conv3x3 stride 1, no max-pool) for small images, 512-d.
class ResNet18Impl : public EncoderImpl {
 public:
  explicit ResNet18Impl(const EncoderOptions& options);
  torch::Tensor feature_map(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return 512; }
  /// The options this encoder was built with.
  EncoderOptions options;

 private:
  torch::nn::Sequential body_{nullptr};
};

}  // namespace ssl
