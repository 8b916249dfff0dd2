#include "sslkit/ssl/encoders.h"

#include "sslkit/ssl/registry.h"

#include <torch/nn/modules/activation.h>


namespace ssl {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv3x3(int64_t in, int64_t out, int64_t stride) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false));
}

void add_conv_bn_relu(nn::Sequential& seq, int64_t in, int64_t out, int64_t stride) {
  seq->push_back(conv3x3(in, out, stride));
  seq->push_back(nn::BatchNorm2d(out));
  seq->push_back(nn::ReLU(nn::ReLUOptions(true)));
}

// The registry entry of a ConvNet with these block widths.
EncoderFactory convnet_factory(std::string name, std::vector<int64_t> widths) {
  return [name = std::move(name), widths = std::move(widths)](const EncoderOptions& o) -> Encoder {
    return std::make_shared<ConvNetImpl>(o, widths, name);
  };
}

using EncoderRegistry = Registry<EncoderFactory>;

EncoderRegistry& registry() {
  static EncoderRegistry instance(
      "encoder",
      {{"convnet-s", "four conv3x3+BN+ReLU blocks 32, 64/2, 128/2, 256/2; 256-d",
        convnet_factory("convnet-s", {32, 64, 128, 256})},
       {"convnet-w", "convnet-s with a 1024-channel last block; 1024-d",
        convnet_factory("convnet-w", {32, 64, 128, 1024})},
       {"resnet18", "ResNet-18 with the CIFAR stem (conv3x3 stride 1, no max-pool); 512-d",
        [](const EncoderOptions& o) -> Encoder { return std::make_shared<ResNet18Impl>(o); }}});
  return instance;
}

void check_options(const EncoderOptions& options, const std::string& name) {
  TORCH_CHECK(options.in_channels() > 0, "encoder ", name, ": in_channels must be > 0, got ",
              options.in_channels());
  TORCH_CHECK(options.image_size() > 0, "encoder ", name, ": image_size must be > 0, got ", options.image_size());
}

}  // namespace

Encoder make_encoder(const std::string& name, const EncoderOptions& options) {
  Encoder encoder = registry().factory(name)(options);
  if (options.channels_last()) to_channels_last(*encoder);
  return encoder;
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& tensor : module.parameters()) {
    if (tensor.dim() == 4) tensor.set_data(tensor.contiguous(torch::MemoryFormat::ChannelsLast));
  }
  for (auto& tensor : module.buffers()) {
    if (tensor.dim() == 4) tensor.set_data(tensor.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

std::vector<std::string> encoder_names() { return registry().names(); }

std::string describe_encoders() { return registry().describe(); }

void register_encoder(const std::string& name, EncoderFactory factory, const std::string& description) {
  registry().add({name, description, std::move(factory)});
}

ConvNetImpl::ConvNetImpl(const EncoderOptions& options_, const std::vector<int64_t>& widths, const std::string& name)
    : EncoderImpl("ConvNet"), options(options_), feature_dim_(widths.empty() ? 0 : widths.back()) {
  check_options(options, name);
  TORCH_CHECK(!widths.empty(), "encoder ", name, ": expected at least one block width, got none");
  body_ = nn::Sequential();
  int64_t in = options.in_channels();
  for (size_t i = 0; i < widths.size(); ++i) {
    add_conv_bn_relu(body_, in, widths[i], i == 0 ? 1 : 2);
    in = widths[i];
  }
  register_module("body", body_);
}

torch::Tensor ConvNetImpl::feature_map(const torch::Tensor& images) { return body_->forward(images); }

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
    : conv1_(register_module("conv1", conv3x3(in_planes, planes, stride))),
      conv2_(register_module("conv2", conv3x3(planes, planes, 1))),
      bn1_(register_module("bn1", nn::BatchNorm2d(planes))),
      bn2_(register_module("bn2", nn::BatchNorm2d(planes))) {
  shortcut_ = nn::Sequential();
  if (stride != 1 || in_planes != planes) {
    shortcut_->push_back(nn::Conv2d(nn::Conv2dOptions(in_planes, planes, 1).stride(stride).bias(false)));
    shortcut_->push_back(nn::BatchNorm2d(planes));
  }
  register_module("shortcut", shortcut_);
}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1_->forward(conv1_->forward(x)));
  out = bn2_->forward(conv2_->forward(out));
  return torch::relu(out + (shortcut_->is_empty() ? x : shortcut_->forward(x)));
}

ResNet18Impl::ResNet18Impl(const EncoderOptions& options_) : EncoderImpl("ResNet18"), options(options_) {
  check_options(options, "resnet18");
  body_ = nn::Sequential();
  add_conv_bn_relu(body_, options.in_channels(), 64, 1);
  int64_t in_planes = 64;
  for (const auto& [planes, stride] : {std::pair<int64_t, int64_t>{64, 1}, {128, 2}, {256, 2}, {512, 2}}) {
    body_->push_back(BasicBlock(in_planes, planes, stride));
    body_->push_back(BasicBlock(planes, planes, 1));
    in_planes = planes;
  }
  register_module("body", body_);
}

torch::Tensor ResNet18Impl::feature_map(const torch::Tensor& images) { return body_->forward(images); }

}  // namespace ssl
