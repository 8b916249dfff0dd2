#pragma once
#include "sslkit/ssl/encoders.h"

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace ssl {

/// Multi-head self-attention: one linear layer to queries, keys and values, softmax(q k^T / sqrt(d)) v per head,
/// an output projection. Written with matmuls (not a fused kernel) so that `count_flops` sees every product.
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int64_t dim, int64_t heads);
  /// [B, T, dim] tokens to [B, T, dim].
  torch::Tensor forward(const torch::Tensor& tokens);

 private:
  int64_t heads_;
  torch::nn::Linear qkv_{nullptr}, projection_{nullptr};
};
TORCH_MODULE(SelfAttention);

/// Pre-norm Transformer block: x + attention(LN(x)), then x + MLP(LN(x)) with a GELU MLP 4x as wide.
class TransformerBlockImpl : public torch::nn::Module {
 public:
  TransformerBlockImpl(int64_t dim, int64_t heads);
  /// [B, T, dim] tokens to [B, T, dim].
  torch::Tensor forward(const torch::Tensor& tokens);

 private:
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  SelfAttention attention_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(TransformerBlock);

/// Vision Transformer (Dosovitskiy et al. 2021) as DeiT / DINO build it: non-overlapping patches embedded by a
/// strided convolution, a class token, learned position embeddings, pre-norm blocks, a final LayerNorm; the
/// representation is the class token. Position embeddings are learned for the grid of `image_size` and
/// interpolated bicubically for other grids (as DINO does), so multi-crop's small crops go through the same model.
class VisionTransformerImpl : public EncoderImpl {
 public:
  /// Width, depth and heads of one size.
  struct Size {
    int64_t dim, depth, heads;
  };
  /// ViT-Tiny (DeiT): 192 wide, 12 blocks, 3 heads.
  static Size tiny() { return {192, 12, 3}; }
  /// ViT-Small (DeiT): 384 wide, 12 blocks, 6 heads.
  static Size small() { return {384, 12, 6}; }

  /// `options.patch_size()` 0 picks 16 for images of `kImageNetStemMinSize` px and larger, else 4; `name` is the
  /// registry name used in errors.
  VisionTransformerImpl(const EncoderOptions& options, const Size& size, const std::string& name);
  /// The normalized class token, [B, dim].
  torch::Tensor forward(const torch::Tensor& images) override;
  /// The normalized patch tokens as a map, [B, dim, H / patch, W / patch].
  torch::Tensor feature_map(const torch::Tensor& images) override;
  /// All normalized tokens, [B, 1 + h * w, dim], the class token first.
  torch::Tensor tokens(const torch::Tensor& images);
  /// Embedded patches with their position embeddings, [B, h * w, dim], before the class token is prepended
  /// (for methods that drop patches, such as MAE).
  torch::Tensor embed_patches(const torch::Tensor& images);
  /// Prepends the class token (with its position embedding) to `patches` [B, T, dim] and runs the blocks and the
  /// final LayerNorm.
  torch::Tensor encode(const torch::Tensor& patches);
  int64_t feature_dim() const override { return size_.dim; }
  /// Attention heads of each block.
  int64_t heads() const { return size_.heads; }
  int64_t patch_size() const override { return options.patch_size(); }
  /// The patch embedding (a conv with kernel and stride `patch_size`); MoCo v3 can freeze it.
  torch::nn::Conv2d& patch_embedding() { return patch_embed_; }
  /// The options this encoder was built with, the patch size resolved.
  EncoderOptions options;

 private:
  torch::Tensor position_embedding(int64_t grid_h, int64_t grid_w) const;

  Size size_;
  int64_t grid_ = 0;
  torch::nn::Conv2d patch_embed_{nullptr};
  torch::Tensor class_token_, position_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};

}  // namespace ssl
