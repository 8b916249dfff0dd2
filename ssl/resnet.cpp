#include "sslkit/ssl/resnet.h"

#include "sslkit/ssl/detail/conv_layers.h"

#include <torch/nn/modules/pooling.h>

namespace ssl {
namespace {

namespace nn = torch::nn;
using detail::conv_same;

torch::Tensor residual_sum(const torch::Tensor& out, nn::Sequential& shortcut, const torch::Tensor& x) {
  return torch::relu(out + (shortcut->is_empty() ? x : shortcut->forward(x)));
}

// Appends a stage of `count` blocks of type Block (the first at `stride`) to `body`; returns its output channels.
template <typename Block>
int64_t add_stage(nn::Sequential& body, int64_t in_planes, int64_t planes, int64_t count, int64_t stride) {
  for (int64_t i = 0; i < count; ++i) {
    body->push_back(Block(in_planes, planes, i == 0 ? stride : 1));
    in_planes = planes * Block::Impl::kExpansion;
  }
  return in_planes;
}

// A BatchNorm2d registered as `name` of `block`, held for its forward.
nn::AnyModule batch_norm_member(nn::Module& block, const std::string& name, int64_t channels) {
  return nn::AnyModule(block.register_module(name, nn::BatchNorm2d(channels)));
}

// Swaps the member `name` (one of `members`, named bn1, bn2, ...) of `block` for `replacement`.
void replace_member(nn::Module& block, std::initializer_list<nn::AnyModule*> members, const std::string& name,
                    nn::AnyModule replacement) {
  int64_t index = 1;
  for (nn::AnyModule* member : members) {
    if (name == "bn" + std::to_string(index++)) {
      block.replace_module(name, replacement.ptr());
      *member = std::move(replacement);
      return;
    }
  }
  TORCH_CHECK(false, block.name(), " has no BatchNorm member '", name, "' (it has bn1..bn", members.size(), ")");
}

}  // namespace

std::string resolve_stem(const std::string& stem, int64_t image_size, const std::string& name) {
  TORCH_CHECK_VALUE(stem == "auto" || stem == "cifar" || stem == "imagenet", "encoder ", name, ": unknown stem '", stem,
              "': expected auto, cifar or imagenet");
  if (stem != "auto") return stem;
  return image_size >= kImageNetStemMinSize ? "imagenet" : "cifar";
}

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
    : conv1_(register_module("conv1", conv_same(in_planes, planes, 3, stride))),
      conv2_(register_module("conv2", conv_same(planes, planes, 3, 1))),
      bn1_(batch_norm_member(*this, "bn1", planes)),
      bn2_(batch_norm_member(*this, "bn2", planes)),
      shortcut_(register_module("shortcut", detail::projection_shortcut(in_planes, planes, stride))) {}

torch::Tensor BasicBlockImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1_.forward(conv1_->forward(x)));
  return residual_sum(bn2_.forward(conv2_->forward(out)), shortcut_, x);
}

void BasicBlockImpl::replace_batch_norm(const std::string& name, nn::AnyModule replacement) {
  replace_member(*this, {&bn1_, &bn2_}, name, std::move(replacement));
}

BottleneckImpl::BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride)
    : conv1_(register_module("conv1", conv_same(in_planes, planes, 1, 1))),
      conv2_(register_module("conv2", conv_same(planes, planes, 3, stride))),
      conv3_(register_module("conv3", conv_same(planes, planes * kExpansion, 1, 1))),
      bn1_(batch_norm_member(*this, "bn1", planes)),
      bn2_(batch_norm_member(*this, "bn2", planes)),
      bn3_(batch_norm_member(*this, "bn3", planes * kExpansion)),
      shortcut_(register_module("shortcut", detail::projection_shortcut(in_planes, planes * kExpansion, stride))) {}

torch::Tensor BottleneckImpl::forward(const torch::Tensor& x) {
  auto out = torch::relu(bn1_.forward(conv1_->forward(x)));
  out = torch::relu(bn2_.forward(conv2_->forward(out)));
  return residual_sum(bn3_.forward(conv3_->forward(out)), shortcut_, x);
}

void BottleneckImpl::replace_batch_norm(const std::string& name, nn::AnyModule replacement) {
  replace_member(*this, {&bn1_, &bn2_, &bn3_}, name, std::move(replacement));
}

ResNetImpl::ResNetImpl(const EncoderOptions& options_, const Layout& layout, const std::string& name)
    : EncoderImpl("ResNet"), options(options_) {
  check_encoder_options(options, name, /*takes_stem=*/true);
  TORCH_CHECK(layout.blocks_per_stage.size() == 4, "encoder ", name, ": expected 4 stages, got ",
              layout.blocks_per_stage.size());
  options.stem(resolve_stem(options.stem(), options.image_size(), name));
  body_ = nn::Sequential();
  if (options.stem() == "imagenet") {
    detail::add_conv_bn_relu(body_, options.in_channels(), 64, 2, 7);
    body_->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  } else {
    detail::add_conv_bn_relu(body_, options.in_channels(), 64, 1);
  }
  int64_t channels = 64;
  const int64_t planes[] = {64, 128, 256, 512};
  for (size_t stage = 0; stage < 4; ++stage) {
    const int64_t stride = stage == 0 ? 1 : 2;
    const int64_t count = layout.blocks_per_stage[stage];
    channels = layout.bottleneck ? add_stage<Bottleneck>(body_, channels, planes[stage], count, stride)
                                 : add_stage<BasicBlock>(body_, channels, planes[stage], count, stride);
  }
  feature_dim_ = channels;
  register_module("body", body_);
}

torch::Tensor ResNetImpl::feature_map(const torch::Tensor& images) { return body_->forward(images); }

}  // namespace ssl
