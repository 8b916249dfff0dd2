#include "sslkit/ssl/efficientnet.h"

#include "sslkit/ssl/detail/conv_layers.h"

#include <torch/nn/modules/activation.h>

#include <cmath>

namespace ssl {
namespace {

namespace nn = torch::nn;
using detail::conv_same;

// One stage of EfficientNet-B0: expansion, kernel, stride of its first block, output channels, blocks.
struct Stage {
  int64_t expand, kernel, stride, channels, blocks;
};
constexpr Stage kB0Stages[] = {{1, 3, 1, 16, 1},  {6, 3, 2, 24, 2},  {6, 5, 2, 40, 2}, {6, 3, 2, 80, 3},
                               {6, 5, 1, 112, 3}, {6, 5, 2, 192, 4}, {6, 3, 1, 320, 1}};
constexpr double kDepthPerStep = 1.2, kWidthPerStep = 1.1, kMaxDropProbability = 0.2;

// conv + BN (+ SiLU) appended to `seq`, as every EfficientNet layer is built.
void add_conv_bn(nn::Sequential& seq, int64_t in, int64_t out, int64_t kernel, int64_t stride, bool activation,
                 int64_t groups = 1) {
  seq->push_back(conv_same(in, out, kernel, stride, groups));
  seq->push_back(nn::BatchNorm2d(out));
  if (activation) seq->push_back(nn::SiLU());
}

}  // namespace

int64_t round_channels(double channels) {
  constexpr int64_t divisor = 8;
  int64_t rounded = std::max(divisor, static_cast<int64_t>(channels + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * channels) rounded += divisor;
  return rounded;
}

torch::Tensor stochastic_depth(const torch::Tensor& branch, double p, bool training) {
  if (!training || p == 0) return branch;
  std::vector<int64_t> shape(static_cast<size_t>(branch.dim()), 1);
  shape[0] = branch.size(0);
  const auto keep = torch::empty(shape, branch.options()).bernoulli_(1 - p);
  return branch * keep / (1 - p);
}

SqueezeExcitationImpl::SqueezeExcitationImpl(int64_t channels, int64_t squeeze)
    : reduce_(register_module("reduce", nn::Conv2d(nn::Conv2dOptions(channels, squeeze, 1)))),
      expand_(register_module("expand", nn::Conv2d(nn::Conv2dOptions(squeeze, channels, 1)))) {}

torch::Tensor SqueezeExcitationImpl::forward(const torch::Tensor& x) {
  const auto scale = torch::sigmoid(expand_->forward(torch::silu(reduce_->forward(x.mean({2, 3}, true)))));
  return x * scale;
}

MBConvImpl::MBConvImpl(const MBConvOptions& options_) : options(options_) {
  const auto& o = options;
  TORCH_CHECK(o.expand_ratio() >= 1 && (o.kernel_size() == 3 || o.kernel_size() == 5) && o.stride() >= 1 &&
                  o.drop_probability() >= 0 && o.drop_probability() < 1,
              "MBConv: expected expand ratio >= 1, kernel 3 or 5, stride >= 1 and drop probability in [0, 1), got ",
              o.expand_ratio(), ", ", o.kernel_size(), ", ", o.stride(), ", ", o.drop_probability());
  const int64_t hidden = o.in_channels() * o.expand_ratio();
  branch_ = nn::Sequential();
  if (o.expand_ratio() != 1) add_conv_bn(branch_, o.in_channels(), hidden, 1, 1, true);
  add_conv_bn(branch_, hidden, hidden, o.kernel_size(), o.stride(), true, /*groups=*/hidden);
  branch_->push_back(SqueezeExcitation(hidden, std::max<int64_t>(1, o.in_channels() / 4)));
  add_conv_bn(branch_, hidden, o.out_channels(), 1, 1, false);
  register_module("branch", branch_);
}

torch::Tensor MBConvImpl::forward(const torch::Tensor& x) {
  auto out = branch_->forward(x);
  if (!adds_input()) return out;
  return x + stochastic_depth(out, options.drop_probability(), is_training());
}

EfficientNetImpl::EfficientNetImpl(const EncoderOptions& options_, int64_t phi)
    : EncoderImpl("EfficientNet"), options(options_) {
  const std::string name = "efficientnet-b" + std::to_string(phi);
  check_encoder_options(options, name);
  TORCH_CHECK(phi >= 0 && phi <= 7, "EfficientNet: compound coefficient must be in [0, 7], got ", phi);
  const double width = std::pow(kWidthPerStep, static_cast<double>(phi));
  const double depth = std::pow(kDepthPerStep, static_cast<double>(phi));
  body_ = nn::Sequential();
  int64_t channels = round_channels(32 * width);
  add_conv_bn(body_, options.in_channels(), channels, 3, 2, true);
  int64_t total_blocks = 0;
  for (const auto& stage : kB0Stages) total_blocks += static_cast<int64_t>(std::ceil(stage.blocks * depth));
  int64_t block = 0;
  for (const auto& stage : kB0Stages) {
    const int64_t out = round_channels(static_cast<double>(stage.channels) * width);
    const auto blocks = static_cast<int64_t>(std::ceil(stage.blocks * depth));
    for (int64_t i = 0; i < blocks; ++i, ++block) {
      body_->push_back(MBConv(MBConvOptions(channels, out)
                                  .expand_ratio(stage.expand)
                                  .kernel_size(stage.kernel)
                                  .stride(i == 0 ? stage.stride : 1)
                                  .drop_probability(kMaxDropProbability * static_cast<double>(block) /
                                                    static_cast<double>(total_blocks))));
      channels = out;
    }
  }
  feature_dim_ = 4 * channels;
  add_conv_bn(body_, channels, feature_dim_, 1, 1, true);
  register_module("body", body_);
}

torch::Tensor EfficientNetImpl::feature_map(const torch::Tensor& images) { return body_->forward(images); }

}  // namespace ssl
