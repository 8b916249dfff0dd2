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
  /// ResNet input stem: "cifar" (conv3x3 stride 1), "imagenet" (conv7x7 stride 2 + 3x3 max-pool stride 2), or
  /// "auto" (imagenet for images of `kImageNetStemMinSize` px and larger); other encoders accept only "auto".
  TORCH_ARG(std::string, stem) = "auto";
  /// Vision Transformer patch side in pixels; 0 picks 16 for images of `kImageNetStemMinSize` px and larger, else 4.
  /// Other encoders accept only 0.
  TORCH_ARG(int64_t, patch_size) = 0;
};

/// Image side from which `stem("auto")` picks the ImageNet stem and `patch_size(0)` 16-pixel patches.
inline constexpr int64_t kImageNetStemMinSize = 96;

/// An image encoder: [B, C, H, W] float images to [B, feature_dim()] representations.
class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(std::string name) : torch::nn::Module(std::move(name)) {}
  /// The last convolutional feature map, [B, feature_dim(), h, w] (used by dense probes).
  virtual torch::Tensor feature_map(const torch::Tensor& images) = 0;
  /// The representation, [B, feature_dim()]: the global average of `feature_map` unless an encoder says otherwise.
  virtual torch::Tensor forward(const torch::Tensor& images) { return feature_map(images).mean({2, 3}); }
  /// Width of the representation.
  virtual int64_t feature_dim() const = 0;
  /// The resolved stem ("cifar" or "imagenet") of encoders that have one; empty otherwise. Checkpoints record it.
  virtual std::string stem() const { return {}; }
  /// The resolved patch side of patch-based encoders; 0 otherwise. Checkpoints record it.
  virtual int64_t patch_size() const { return 0; }
  /// Whether bf16 autocast trains this encoder faster than fp32 on a CPU with bf16 instructions; false where the
  /// CPU's bf16 kernels are the slower ones (depthwise convolutions), so that `--precision auto` keeps fp32.
  virtual bool bf16_faster_on_cpu() const { return true; }
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

/// Whether `module` is a BatchNorm1d, 2d or 3d layer.
bool is_batch_norm(const torch::nn::Module& module);

/// A module that holds BatchNorm layers as members (outside any Sequential) and lets them be swapped by child
/// name, so that synchronized BatchNorm can take them over; its forward runs whatever the child now is.
class BatchNormMembers {
 public:
  virtual ~BatchNormMembers() = default;
  /// Replaces the BatchNorm child `name` by `replacement`, a module with `forward(Tensor) -> Tensor` that keeps
  /// the replaced layer's parameters and buffers under the same names.
  virtual void replace_batch_norm(const std::string& name, torch::nn::AnyModule replacement) = 0;
};

/// Names accepted by `make_encoder`, in registration order.
std::vector<std::string> encoder_names();

/// One line per registered encoder, "  NAME: DESCRIPTION\n", for `--help`.
std::string describe_encoders();

/// Adds (or replaces) an encoder factory under `name`, described by `description` in `--help`.
void register_encoder(const std::string& name, EncoderFactory factory, const std::string& description = "");

/// Checks the options every encoder shares (positive channels and size; stem "auto" and patch size 0 unless
/// `takes_stem` / `takes_patch_size`); `name` is the registry name used in errors.
void check_encoder_options(const EncoderOptions& options, const std::string& name, bool takes_stem = false,
                           bool takes_patch_size = false);

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

}  // namespace ssl
