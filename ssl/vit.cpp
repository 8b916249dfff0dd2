#include "sslkit/ssl/vit.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/conv.h>

#include <cmath>

namespace ssl {
namespace {

namespace nn = torch::nn;
namespace F = torch::nn::functional;

constexpr double kLayerNormEps = 1e-6;  // DeiT's and DINO's

nn::LayerNorm layer_norm(int64_t dim) { return nn::LayerNorm(nn::LayerNormOptions({dim}).eps(kLayerNormEps)); }

// Truncated normal, std 0.02 and cut at +-2 (absolute), as DeiT / timm initialize position embeddings and weights.
void truncated_normal_(torch::Tensor t, double std) {
  torch::NoGradGuard no_grad;
  t.normal_(0, std).clamp_(-2.0, 2.0);
}

}  // namespace

SelfAttentionImpl::SelfAttentionImpl(int64_t dim, int64_t heads)
    : heads_(heads),
      qkv_(register_module("qkv", nn::Linear(dim, 3 * dim))),
      projection_(register_module("projection", nn::Linear(dim, dim))) {
  TORCH_CHECK(heads > 0 && dim % heads == 0, "self-attention: width ", dim, " is not divisible by ", heads,
              " heads");
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& tokens) {
  const int64_t b = tokens.size(0), t = tokens.size(1), dim = tokens.size(2), head_dim = dim / heads_;
  // [B, T, 3, H, d] -> [3, B, H, T, d]
  const auto qkv = qkv_->forward(tokens).reshape({b, t, 3, heads_, head_dim}).permute({2, 0, 3, 1, 4});
  const auto q = qkv[0] * (1.0 / std::sqrt(static_cast<double>(head_dim)));
  const auto attention = torch::softmax(torch::matmul(q, qkv[1].transpose(-2, -1)), -1);
  const auto out = torch::matmul(attention, qkv[2]).transpose(1, 2).reshape({b, t, dim});
  return projection_->forward(out);
}

TransformerBlockImpl::TransformerBlockImpl(int64_t dim, int64_t heads)
    : norm1_(register_module("norm1", layer_norm(dim))),
      norm2_(register_module("norm2", layer_norm(dim))),
      attention_(register_module("attention", SelfAttention(dim, heads))),
      fc1_(register_module("fc1", nn::Linear(dim, 4 * dim))),
      fc2_(register_module("fc2", nn::Linear(4 * dim, dim))) {}

torch::Tensor TransformerBlockImpl::forward(const torch::Tensor& tokens) {
  // The residual stream stays fp32 under autocast (LibTorch 1.13's CPU LayerNorm refuses bf16 inputs with fp32
  // weights; autocast runs the linear layers in bf16 either way).
  auto x = tokens.to(torch::kFloat);
  x = x + attention_->forward(norm1_->forward(x));
  return x + fc2_->forward(F::gelu(fc1_->forward(norm2_->forward(x))));
}

VisionTransformerImpl::VisionTransformerImpl(const EncoderOptions& options_, const Size& size,
                                             const std::string& name)
    : EncoderImpl("VisionTransformer"), options(options_), size_(size) {
  check_encoder_options(options, name, /*takes_stem=*/false, /*takes_patch_size=*/true);
  if (options.patch_size() == 0) options.patch_size(options.image_size() >= kImageNetStemMinSize ? 16 : 4);
  TORCH_CHECK_VALUE(options.patch_size() <= options.image_size(), "encoder ", name, ": patch size ", options.patch_size(),
              " is larger than the ", options.image_size(), " px images");
  grid_ = options.image_size() / options.patch_size();
  patch_embed_ = register_module(
      "patch_embed",
      nn::Conv2d(nn::Conv2dOptions(options.in_channels(), size.dim, options.patch_size()).stride(options.patch_size())));
  class_token_ = register_parameter("class_token", torch::zeros({1, 1, size.dim}));
  position_ = register_parameter("position", torch::zeros({1, 1 + grid_ * grid_, size.dim}));
  blocks_ = register_module("blocks", nn::ModuleList());
  for (int64_t i = 0; i < size.depth; ++i) blocks_->push_back(TransformerBlock(size.dim, size.heads));
  norm_ = register_module("norm", layer_norm(size.dim));
  truncated_normal_(position_, 0.02);
  truncated_normal_(class_token_, 0.02);
  for (auto& module : blocks_->modules(/*include_self=*/false)) {
    if (auto* linear = module->as<nn::Linear>()) {
      torch::NoGradGuard no_grad;
      truncated_normal_(linear->weight, 0.02);
      linear->bias.zero_();
    }
  }
}

torch::Tensor VisionTransformerImpl::position_embedding(int64_t grid_h, int64_t grid_w) const {
  if (grid_h == grid_ && grid_w == grid_) return position_;
  const auto cls = position_.narrow(1, 0, 1);
  const auto grid = position_.narrow(1, 1, grid_ * grid_).reshape({1, grid_, grid_, size_.dim}).permute({0, 3, 1, 2});
  const auto resized = F::interpolate(grid, F::InterpolateFuncOptions()
                                                .size(std::vector<int64_t>{grid_h, grid_w})
                                                .mode(torch::kBicubic)
                                                .align_corners(false));
  return torch::cat({cls, resized.permute({0, 2, 3, 1}).reshape({1, grid_h * grid_w, size_.dim})}, 1);
}

torch::Tensor VisionTransformerImpl::embed_patches(const torch::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(2) >= options.patch_size() && images.size(3) >= options.patch_size(),
              "vision transformer: images of shape ", images.sizes(), " are smaller than one ", options.patch_size(),
              " px patch");
  const auto map = patch_embed_->forward(images);  // [B, dim, h, w]
  const int64_t h = map.size(2), w = map.size(3);
  const auto patches = map.flatten(2).transpose(1, 2);  // [B, h * w, dim]
  return patches + position_embedding(h, w).narrow(1, 1, h * w);
}

torch::Tensor VisionTransformerImpl::encode(const torch::Tensor& patches) {
  const auto cls = (class_token_ + position_.narrow(1, 0, 1)).expand({patches.size(0), 1, size_.dim});
  auto x = torch::cat({cls.to(patches.scalar_type()), patches}, 1);
  for (const auto& block : *blocks_) x = block->as<TransformerBlock>()->forward(x);
  return norm_->forward(x);
}

torch::Tensor VisionTransformerImpl::tokens(const torch::Tensor& images) { return encode(embed_patches(images)); }

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images) { return tokens(images).select(1, 0); }

torch::Tensor VisionTransformerImpl::feature_map(const torch::Tensor& images) {
  const int64_t h = images.size(2) / options.patch_size(), w = images.size(3) / options.patch_size();
  const auto x = tokens(images);
  return x.narrow(1, 1, h * w).transpose(1, 2).reshape({x.size(0), size_.dim, h, w});
}

}  // namespace ssl
