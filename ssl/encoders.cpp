#include "sslkit/ssl/encoders.h"

#include "sslkit/ssl/convolution.h"
#include "sslkit/ssl/detail/conv_layers.h"
#include "sslkit/ssl/efficientnet.h"
#include "sslkit/ssl/registry.h"
#include "sslkit/ssl/resnet.h"
#include "sslkit/ssl/vit.h"


namespace ssl {
namespace {

namespace nn = torch::nn;

// The registry entry of a ConvNet with these block widths.
EncoderFactory convnet_factory(std::string name, std::vector<int64_t> widths) {
  return [name = std::move(name), widths = std::move(widths)](const EncoderOptions& o) -> Encoder {
    return std::make_shared<ConvNetImpl>(o, widths, name);
  };
}

// The registry entry of a ResNet of this layout.
EncoderFactory resnet_factory(std::string name, ResNetImpl::Layout layout) {
  return [name = std::move(name), layout = std::move(layout)](const EncoderOptions& o) -> Encoder {
    return std::make_shared<ResNetImpl>(o, layout, name);
  };
}

// The registry entry of EfficientNet-B`phi`.
EncoderFactory efficientnet_factory(int64_t phi) {
  return [phi](const EncoderOptions& o) -> Encoder { return std::make_shared<EfficientNetImpl>(o, phi); };
}

// The registry entry of a Vision Transformer of this size.
EncoderFactory vit_factory(std::string name, VisionTransformerImpl::Size size) {
  return [name = std::move(name), size](const EncoderOptions& o) -> Encoder {
    return std::make_shared<VisionTransformerImpl>(o, size, name);
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
       {"convnet-x", "convnet-s with a 2048-channel last block; 2048-d",
        convnet_factory("convnet-x", {32, 64, 128, 2048})},
       {"convnet-xl", "convnet-s with a 4096-channel last block; 4096-d",
        convnet_factory("convnet-xl", {32, 64, 128, 4096})},
       {"resnet18", "ResNet-18, basic blocks 2-2-2-2, CIFAR or ImageNet stem (stem); 512-d",
        resnet_factory("resnet18", ResNetImpl::resnet18())},
       {"resnet34", "ResNet-34, basic blocks 3-4-6-3, CIFAR or ImageNet stem (stem); 512-d",
        resnet_factory("resnet34", ResNetImpl::resnet34())},
       {"resnet50", "ResNet-50, bottleneck blocks 3-4-6-3, CIFAR or ImageNet stem (stem); 2048-d",
        resnet_factory("resnet50", ResNetImpl::resnet50())},
       {"efficientnet-b0", "EfficientNet-B0: MBConv blocks with squeeze-excitation and SiLU; 1280-d",
        efficientnet_factory(0)},
       {"efficientnet-b1", "EfficientNet-B0 compound-scaled once (depth 1.2x, width 1.1x); 1408-d",
        efficientnet_factory(1)},
       {"efficientnet-b2", "EfficientNet-B0 compound-scaled twice (depth 1.44x, width 1.21x); 1536-d",
        efficientnet_factory(2)},
       {"efficientnet-b3", "EfficientNet-B0 compound-scaled 3 times (depth 1.728x, width 1.331x); 1696-d",
        efficientnet_factory(3)},
       {"vit-tiny", "Vision Transformer, 192 wide, 12 blocks, 3 heads, class token (patch size); 192-d",
        vit_factory("vit-tiny", VisionTransformerImpl::tiny())},
       {"vit-small", "Vision Transformer, 384 wide, 12 blocks, 6 heads, class token (patch size); 384-d",
        vit_factory("vit-small", VisionTransformerImpl::small())}});
  return instance;
}

}  // namespace

Encoder make_encoder(const std::string& name, const EncoderOptions& options) {
  Encoder encoder = registry().factory(name)(options);
  if (options.channels_last()) to_channels_last(*encoder);
  return encoder;
}

void to_channels_last(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  // A fresh channels-last copy, not `contiguous(ChannelsLast)`: that returns a tensor with a size-1 dimension
  // (a 1-channel stem, every 1x1 and depthwise weight) unchanged because its NCHW strides also pass as
  // channels-last, and the convolution then picks NCHW for it and for everything after it.
  const auto restride = [](torch::Tensor& tensor) {
    if (tensor.dim() != 4) return;
    tensor.set_data(torch::empty_like(tensor, tensor.options(), torch::MemoryFormat::ChannelsLast).copy_(tensor));
  };
  for (auto& tensor : module.parameters()) restride(tensor);
  for (auto& tensor : module.buffers()) restride(tensor);
}

bool is_batch_norm(const torch::nn::Module& module) {
  return module.as<torch::nn::BatchNorm1dImpl>() != nullptr || module.as<torch::nn::BatchNorm2dImpl>() != nullptr ||
         module.as<torch::nn::BatchNorm3dImpl>() != nullptr;
}

void check_encoder_options(const EncoderOptions& options, const std::string& name, bool takes_stem,
                           bool takes_patch_size) {
  TORCH_CHECK(options.in_channels() > 0, "encoder ", name, ": in_channels must be > 0, got ",
              options.in_channels());
  TORCH_CHECK(options.image_size() > 0, "encoder ", name, ": image_size must be > 0, got ", options.image_size());
  TORCH_CHECK_VALUE(takes_stem || options.stem() == "auto", "encoder ", name, " has no stem choice, got stem '",
              options.stem(), "' (resnet18, resnet34 and resnet50 have one)");
  TORCH_CHECK_VALUE(takes_patch_size || options.patch_size() == 0, "encoder ", name,
              " has no patch size, got patch size ", options.patch_size(), " (the vit encoders have one)");
  TORCH_CHECK_VALUE(options.patch_size() >= 0, "encoder ", name, ": patch size must be >= 0 (0: by image size), got ",
              options.patch_size());
}

std::vector<std::string> encoder_names() { return registry().names(); }

std::string describe_encoders() { return registry().describe(); }

void register_encoder(const std::string& name, EncoderFactory factory, const std::string& description) {
  registry().add({name, description, std::move(factory)});
}

ConvNetImpl::ConvNetImpl(const EncoderOptions& options_, const std::vector<int64_t>& widths, const std::string& name)
    : EncoderImpl("ConvNet"), options(options_), feature_dim_(widths.empty() ? 0 : widths.back()) {
  check_encoder_options(options, name);
  TORCH_CHECK(!widths.empty(), "encoder ", name, ": expected at least one block width, got none");
  body_ = nn::Sequential();
  int64_t in = options.in_channels();
  for (size_t i = 0; i < widths.size(); ++i) {
    detail::add_conv_bn_relu(body_, in, widths[i], i == 0 ? 1 : 2);
    in = widths[i];
  }
  register_module("body", body_);
}

torch::Tensor ConvNetImpl::feature_map(const torch::Tensor& images) {
  // The layers in order, the wide convolutions as im2col matmuls where that pays (bf16 on CPU).
  torch::Tensor x = images;
  for (auto& layer : *body_) {
    const auto* conv = layer.ptr()->as<nn::Conv2dImpl>();
    if (conv == nullptr) {
      x = layer.forward(x);
      continue;
    }
    const int64_t stride = conv->options.stride()->at(0), padding = conv->weight.size(2) / 2;  // conv_same's k / 2
    x = im2col_conv_pays(x, conv->weight, stride, padding) ? conv2d_im2col(x, conv->weight, stride, padding)
                                                           : layer.forward(x);
  }
  return x;
}

}  // namespace ssl
