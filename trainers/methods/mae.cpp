#include "sslkit/trainers/methods/mae.h"

#include "sslkit/data/views/single_view.h"
#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

#include <torch/nn/init.h>

#include <cmath>

namespace ssl::trainers {
namespace {

namespace nn = torch::nn;

// sin / cos of positions [P] at dim / 2 frequencies: [P, dim] (the official get_1d_sincos_pos_embed_from_grid).
torch::Tensor sincos_1d(const torch::Tensor& positions, int64_t dim) {
  const auto omega = 1.0 / torch::pow(10000.0, torch::arange(dim / 2, torch::kDouble) / (dim / 2.0));
  const auto angles = positions.to(torch::kDouble).unsqueeze(1) * omega.unsqueeze(0);
  return torch::cat({torch::sin(angles), torch::cos(angles)}, 1);
}

}  // namespace

MaskedPatches mae_random_masking(const torch::Tensor& tokens, double mask_ratio) {
  TORCH_CHECK(tokens.dim() == 3, "mae masking: expected tokens [B, N, D], got ", tokens.sizes());
  TORCH_CHECK(mask_ratio >= 0 && mask_ratio < 1, "mae mask ratio must be in [0, 1), got ", mask_ratio);
  const int64_t b = tokens.size(0), n = tokens.size(1);
  const int64_t keep = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(n) * (1 - mask_ratio)));
  const auto noise = torch::rand({b, n}, torch::TensorOptions().device(tokens.device()));
  const auto shuffle = noise.argsort(int64_t{1}, false);
  MaskedPatches out;
  out.restore_indices = shuffle.argsort(int64_t{1}, false);
  out.kept_indices = shuffle.narrow(1, 0, keep);
  out.visible = tokens.gather(1, out.kept_indices.unsqueeze(-1).expand({b, keep, tokens.size(2)}));
  out.mask = torch::ones({b, n}, tokens.options().dtype(torch::kFloat));
  out.mask.narrow(1, 0, keep).zero_();
  out.mask = out.mask.gather(1, out.restore_indices);
  return out;
}

torch::Tensor patchify(const torch::Tensor& images, int64_t p) {
  TORCH_CHECK(images.dim() == 4 && p > 0 && images.size(2) % p == 0 && images.size(3) % p == 0,
              "patchify: expected images [B, C, H, W] with H and W multiples of ", p, ", got ", images.sizes());
  const int64_t b = images.size(0), c = images.size(1), h = images.size(2) / p, w = images.size(3) / p;
  return images.reshape({b, c, h, p, w, p}).permute({0, 2, 4, 3, 5, 1}).reshape({b, h * w, p * p * c});
}

torch::Tensor sincos_position_embedding(int64_t grid_h, int64_t grid_w, int64_t dim) {
  TORCH_CHECK(dim % 4 == 0, "sine-cosine position embedding: width must be a multiple of 4, got ", dim);
  const auto rows = torch::arange(grid_h, torch::kDouble).repeat_interleave(grid_w);
  const auto cols = torch::arange(grid_w, torch::kDouble).repeat(grid_h);
  // The official code's meshgrid puts the column index (w) first: emb = concat(emb(w), emb(h)).
  return torch::cat({sincos_1d(cols, dim / 2), sincos_1d(rows, dim / 2)}, 1).to(torch::kFloat);
}

MAEDecoderImpl::MAEDecoderImpl(int64_t encoder_dim, const MAEOptions& o, int64_t patch_pixels)
    : embed_(register_module("embed", nn::Linear(encoder_dim, o.decoder_dim()))),
      predict_(register_module("predict", nn::Linear(o.decoder_dim(), patch_pixels))),
      mask_token_(register_parameter("mask_token", torch::zeros({1, 1, o.decoder_dim()}))),
      blocks_(register_module("blocks", nn::ModuleList())),
      norm_(register_module("norm", nn::LayerNorm(nn::LayerNormOptions({o.decoder_dim()}).eps(1e-6)))) {
  for (int64_t i = 0; i < o.decoder_depth(); ++i) blocks_->push_back(TransformerBlock(o.decoder_dim(), o.decoder_heads()));
  torch::NoGradGuard no_grad;
  mask_token_.normal_(0, 0.02);
}

torch::Tensor MAEDecoderImpl::forward(const torch::Tensor& encoded, const MaskedPatches& masked, int64_t grid_h,
                                      int64_t grid_w) {
  auto x = embed_->forward(encoded).to(torch::kFloat);  // [B, 1 + keep, Dd]; fp32 residual stream under autocast
  const int64_t b = x.size(0), n = masked.mask.size(1), dim = x.size(2);
  const auto hidden = mask_token_.expand({b, n - (x.size(1) - 1), dim});
  auto patches = torch::cat({x.narrow(1, 1, x.size(1) - 1), hidden}, 1);
  patches = patches.gather(1, masked.restore_indices.unsqueeze(-1).expand({b, n, dim}));
  const auto positions = sincos_position_embedding(grid_h, grid_w, dim).to(x.device()).unsqueeze(0);
  x = torch::cat({x.narrow(1, 0, 1), patches + positions}, 1);
  for (const auto& block : *blocks_) x = block->as<TransformerBlock>()->forward(x);
  return predict_->forward(norm_->forward(x)).narrow(1, 1, n);
}

MAE::MAE(Encoder encoder, MAEOptions options)
    : encoder_(std::move(encoder)), vit_(dynamic_cast<VisionTransformerImpl*>(encoder_.get())), options_(options) {
  TORCH_CHECK_VALUE(vit_ != nullptr, "mae needs a vision transformer encoder (vit-tiny or vit-small)");
  TORCH_CHECK_VALUE(options_.mask_ratio() >= 0 && options_.mask_ratio() < 1, "mae mask ratio must be in [0, 1), got ",
                    options_.mask_ratio());
  TORCH_CHECK_VALUE(options_.decoder_dim() > 0 && options_.decoder_depth() >= 0 && options_.decoder_heads() > 0 &&
                        options_.decoder_dim() % options_.decoder_heads() == 0 && options_.decoder_dim() % 4 == 0,
                    "mae decoder: width must be a multiple of 4 and of its heads, got width ", options_.decoder_dim(),
                    " and ", options_.decoder_heads(), " heads");
  const int64_t p = vit_->patch_size();
  decoder_ = MAEDecoder(vit_->feature_dim(), options_, p * p * vit_->options.in_channels());
}

std::vector<std::shared_ptr<torch::nn::Module>> MAE::modules() const { return {encoder_, decoder_.ptr()}; }

std::shared_ptr<const data::ViewMaker> MAE::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::SingleView>(options_.augment(), norm);
}

StepOutput MAE::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 1, "MAE needs one view per image, got ", batch.views.size());
  const int64_t p = vit_->patch_size();
  const int64_t grid_h = batch.views[0].size(2) / p, grid_w = batch.views[0].size(3) / p;
  const auto images = batch.views[0].narrow(2, 0, grid_h * p).narrow(3, 0, grid_w * p);
  const auto masked = mae_random_masking(vit_->embed_patches(images), options_.mask_ratio());
  const auto prediction = decoder_->forward(vit_->encode(masked.visible), masked, grid_h, grid_w);
  Fp32Scope fp32;
  auto target = patchify(images.to(torch::kFloat), p);
  if (options_.norm_pix_loss()) {
    target = (target - target.mean(-1, true)) / torch::sqrt(target.var(-1, /*unbiased=*/true, true) + 1e-6);
  }
  const auto per_patch = (prediction.to(torch::kFloat) - target).square().mean(-1);
  const auto loss = (per_patch * masked.mask).sum() / masked.mask.sum();
  return {loss, {}};
}

std::map<std::string, TensorDict> MAE::extra_state() const { return {{"decoder", module_state(*decoder_)}}; }

void MAE::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "decoder", *decoder_, "MAE");
}

}  // namespace ssl::trainers
