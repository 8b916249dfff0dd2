#pragma once
#include "sslkit/data/augment.h"
#include "sslkit/ssl/vit.h"
#include "sslkit/trainers/method.h"

namespace ssl::trainers {

/// MAE hyper-parameters (He et al. 2022, "Masked Autoencoders Are Scalable Vision Learners"), with the decoder
/// scaled for 28x28 Fashion-MNIST.
struct MAEOptions {
  /// Fraction of each image's patches hidden from the encoder (paper: 0.75).
  TORCH_ARG(double, mask_ratio) = 0.75;
  /// Decoder width (paper: 512).
  TORCH_ARG(int64_t, decoder_dim) = 128;
  /// Decoder Transformer blocks (paper: 8).
  TORCH_ARG(int64_t, decoder_depth) = 4;
  /// Decoder attention heads (paper: 16).
  TORCH_ARG(int64_t, decoder_heads) = 4;
  /// Regress each patch's pixels normalized by the patch's own mean and variance (the paper's default).
  TORCH_ARG(bool, norm_pix_loss) = true;
  /// Augmentation of the one view: random resized crop (area 0.2-1) and flip only, as the paper.
  TORCH_ARG(data::ContrastiveAugmentOptions, augment) =
      data::ContrastiveAugmentOptions()
          .jitter(data::ColorJitterOptions().probability(0))
          .grayscale(data::RandomGrayscaleOptions().probability(0));
};

/// What `mae_random_masking` keeps of a batch of patch tokens.
struct MaskedPatches {
  /// The kept tokens [B, keep, D], in the order of `kept_indices`.
  torch::Tensor visible;
  /// Original positions of the kept tokens [B, keep] (int64).
  torch::Tensor kept_indices;
  /// 1 where a patch is hidden, 0 where kept, [B, N] in the original patch order.
  torch::Tensor mask;
  /// The permutation that undoes the shuffle [B, N]: gathering [visible, hidden] along dim 1 with it restores the
  /// original order.
  torch::Tensor restore_indices;
};

/// MAE's per-sample random masking (`random_masking` of the official code): each image's N tokens [B, N, D] are
/// shuffled by the argsort of uniform noise drawn from the global generator, and the first
/// keep = floor(N (1 - mask_ratio)) (at least 1) are kept.
MaskedPatches mae_random_masking(const torch::Tensor& tokens, double mask_ratio);

/// [B, C, H, W] images as [B, (H/p)(W/p), p*p*C] patches, row-major over the patch grid (the order of a ViT's patch
/// tokens), each patch's pixels row-major with channels last (the official `patchify`). H and W must be multiples
/// of p.
torch::Tensor patchify(const torch::Tensor& images, int64_t patch_size);

/// Fixed 2-D sine-cosine position embeddings [h * w, dim] (MAE's decoder and MoCo v3's): half the channels encode
/// the row, half the column, each as sin / cos of position * 10000^(-2i / (dim / 2)).
torch::Tensor sincos_position_embedding(int64_t grid_h, int64_t grid_w, int64_t dim);

/// MAE's decoder: a linear map from the encoder width, a learned mask token for every hidden patch, a class token
/// slot, fixed 2-D sine-cosine positions, pre-norm Transformer blocks, LayerNorm and a linear prediction of each
/// patch's p*p*C pixels.
class MAEDecoderImpl : public torch::nn::Module {
 public:
  MAEDecoderImpl(int64_t encoder_dim, const MAEOptions& options, int64_t patch_pixels);
  /// Pixel predictions [B, N, patch_pixels] for every patch from the encoded [B, 1 + keep, encoder_dim] tokens
  /// (class token first) of `masked`, on a grid_h x grid_w patch grid.
  torch::Tensor forward(const torch::Tensor& encoded, const MaskedPatches& masked, int64_t grid_h, int64_t grid_w);

 private:
  torch::nn::Linear embed_{nullptr}, predict_{nullptr};
  torch::Tensor mask_token_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(MAEDecoder);

/// MAE: the ViT encoder sees only the visible patches of one augmented view (class token kept), the decoder
/// reconstructs every patch, and the loss is the mean squared error over the hidden patches only, against their
/// (per-patch normalized) pixels. The probe then uses the encoder on all patches.
class MAE : public Method {
 public:
  /// `encoder` must be a vision transformer (one line otherwise).
  MAE(Encoder encoder, MAEOptions options);
  std::string name() const override { return "mae"; }
  Encoder encoder() const override { return encoder_; }
  std::vector<std::shared_ptr<torch::nn::Module>> modules() const override;
  std::shared_ptr<const data::ViewMaker> view_maker(const data::Normalization& norm) const override;
  StepOutput step(const data::Batch& batch) override;
  std::map<std::string, TensorDict> extra_state() const override;
  void load_extra_state(const std::map<std::string, TensorDict>& state) override;

 private:
  Encoder encoder_;
  VisionTransformerImpl* vit_;
  MAEDecoder decoder_{nullptr};
  MAEOptions options_;
};

}  // namespace ssl::trainers
