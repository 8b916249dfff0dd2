#pragma once
#include "sslkit/ssl/encoders.h"

#include <torch/nn/modules/container/sequential.h>

namespace ssl {

/// Squeeze-excitation (Hu et al. 2018) as EfficientNet uses it: global average, conv1x1 to `squeeze` channels,
/// SiLU, conv1x1 back, sigmoid, scaling the input's channels.
class SqueezeExcitationImpl : public torch::nn::Module {
 public:
  SqueezeExcitationImpl(int64_t channels, int64_t squeeze);
  /// x * sigmoid(expand(silu(reduce(mean_hw(x))))).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Conv2d reduce_{nullptr}, expand_{nullptr};
};
TORCH_MODULE(SqueezeExcitation);

/// What one MBConv block is: expansion ratio, depthwise kernel, stride, input and output channels, and the
/// probability that stochastic depth drops its residual branch for a sample.
struct MBConvOptions {
  MBConvOptions(int64_t in_channels, int64_t out_channels) : in_channels_(in_channels), out_channels_(out_channels) {}
  TORCH_ARG(int64_t, in_channels);
  TORCH_ARG(int64_t, out_channels);
  /// Hidden channels = expand_ratio * in_channels (1: no expansion convolution).
  TORCH_ARG(int64_t, expand_ratio) = 6;
  /// Depthwise kernel side (3 or 5).
  TORCH_ARG(int64_t, kernel_size) = 3;
  TORCH_ARG(int64_t, stride) = 1;
  /// Stochastic depth (Huang et al. 2016) drop probability of the residual branch, per sample, in training.
  TORCH_ARG(double, drop_probability) = 0;
};

/// Mobile inverted bottleneck (MBConv, Sandler et al. 2018 / Tan & Le 2019): conv1x1 expansion + BN + SiLU,
/// depthwise conv + BN + SiLU, squeeze-excitation (squeeze to in_channels / 4), conv1x1 projection + BN; a
/// residual connection with stochastic depth when stride is 1 and the channels are kept.
class MBConvImpl : public torch::nn::Module {
 public:
  explicit MBConvImpl(const MBConvOptions& options);
  /// The block; in training, each sample's residual branch is dropped with `drop_probability` (kept ones scaled).
  torch::Tensor forward(const torch::Tensor& x);
  /// Whether `forward` adds the block's input to its branch: stride 1 and the channels kept.
  bool adds_input() const { return options.stride() == 1 && options.in_channels() == options.out_channels(); }
  /// The options this block was built with.
  MBConvOptions options;

 private:
  torch::nn::Sequential branch_{nullptr};
};
TORCH_MODULE(MBConv);

/// Per-sample stochastic depth: zeroes each row of `branch` with probability p and scales the kept rows by
/// 1 / (1 - p) in training; the identity in eval mode or at p = 0.
torch::Tensor stochastic_depth(const torch::Tensor& branch, double p, bool training);

/// Rounds `channels` to a multiple of 8, not below 8 and not more than 10% down (the EfficientNet reference
/// code's `round_filters` / torchvision's `_make_divisible`).
int64_t round_channels(double channels);

/// EfficientNet-B`phi` (Tan & Le 2019) without its classifier: stem conv3x3 stride 2 + BN + SiLU, the seven
/// MBConv stages of B0 with depth scaled by 1.2^phi (ceil) and width by 1.1^phi (`round_channels`), conv1x1 to
/// 4x the last stage's channels + BN + SiLU, global average pool. Stochastic depth rises linearly to 0.2 over
/// the blocks. The paper's B1-B3 used hand-picked multipliers; these follow the compound rule exactly.
class EfficientNetImpl : public EncoderImpl {
 public:
  EfficientNetImpl(const EncoderOptions& options, int64_t phi);
  torch::Tensor feature_map(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return feature_dim_; }
  /// False: its depthwise convolutions run slower in bf16 on CPU (SimCLR steps of efficientnet-b0, AVX-512 BF16,
  /// 2 threads: 208 images/s in bf16 against 400 in fp32; b1-b3 likewise, README "Encoders").
  bool bf16_faster_on_cpu() const override { return false; }
  /// The options this encoder was built with.
  EncoderOptions options;

 private:
  torch::nn::Sequential body_{nullptr};
  int64_t feature_dim_ = 0;
};

}  // namespace ssl
