#include "sslkit/trainers/methods/mocov3.h"

#include "sslkit/losses/info_nce.h"
#include "sslkit/ssl/vit.h"
#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

namespace ssl::trainers {

torch::Tensor mocov3_contrastive_loss(const torch::Tensor& q, const torch::Tensor& k, double temperature) {
  return 2 * temperature * losses::info_nce(q, k, losses::InfoNCEOptions().temperature(temperature));
}

MoCoV3::MoCoV3(Encoder encoder, Encoder momentum_encoder, MoCoV3Options options)
    : encoder_(std::move(encoder)), momentum_encoder_(std::move(momentum_encoder)), options_(std::move(options)),
      ema_(options_.ema_momentum(), "mocov3") {
  TORCH_CHECK(encoder_ && momentum_encoder_, "MoCo v3 needs an encoder and a momentum encoder");
  losses::InfoNCELossImpl(losses::InfoNCEOptions().temperature(options_.temperature()));  // validates
  const auto mlp = ProjectionHeadOptions(encoder_->feature_dim())
                       .hidden_dim(options_.hidden_dim())
                       .out_dim(options_.projection_dim())
                       .batch_norm(true);
  projector_ = ProjectionHead(ProjectionHeadOptions(mlp).layers(3).output_batch_norm(true));
  momentum_projector_ = ProjectionHead(ProjectionHeadOptions(mlp).layers(3).output_batch_norm(true));
  predictor_ = ProjectionHead(ProjectionHeadOptions(mlp).in_dim(options_.projection_dim()));
  if (options_.freeze_patch_embed()) {
    auto* vit = dynamic_cast<VisionTransformerImpl*>(encoder_.get());
    TORCH_CHECK_VALUE(vit != nullptr, "mocov3: freezing the patch embedding needs a vit encoder");
    for (auto& p : vit->patch_embedding()->parameters()) p.set_requires_grad(false);
  }
  copy_and_freeze(*encoder_, *momentum_encoder_, "MoCo v3 momentum encoder (it must have the encoder's architecture)");
  copy_and_freeze(*projector_, *momentum_projector_, "MoCo v3 momentum projector");
}

std::vector<std::shared_ptr<torch::nn::Module>> MoCoV3::modules() const {
  return {encoder_, projector_.ptr(), predictor_.ptr(), momentum_encoder_, momentum_projector_.ptr()};
}

std::shared_ptr<const data::ViewMaker> MoCoV3::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::TwoViews>(options_.augment(), norm);
}

StepOutput MoCoV3::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 2, "MoCo v3 needs two views per image, got ", batch.views.size());
  const double m = momentum();
  ema_update(*encoder_, *momentum_encoder_, m);
  ema_update(*projector_, *momentum_projector_, m);
  std::vector<torch::Tensor> q, k;
  for (const auto& view : batch.views) q.push_back(predictor_->forward(projector_->forward(encoder_->forward(view))));
  {
    torch::NoGradGuard no_grad;
    for (const auto& view : batch.views) k.push_back(momentum_projector_->forward(momentum_encoder_->forward(view)));
  }
  Fp32Scope fp32;
  // Data parallel: every rank scores the global batch, each query against every rank's keys.
  const auto gather = [&](const torch::Tensor& x) { return all_gather_with_grad(x.to(torch::kFloat), process_group()); };
  const double t = options_.temperature();
  const auto loss = mocov3_contrastive_loss(gather(q[0]), gather(k[1]), t) +
                    mocov3_contrastive_loss(gather(q[1]), gather(k[0]), t);
  return {loss, {{"ema_momentum", m}}};
}

std::map<std::string, TensorDict> MoCoV3::extra_state() const {
  return {{"projector", module_state(*projector_)},
          {"predictor", module_state(*predictor_)},
          {"momentum_encoder", module_state(*momentum_encoder_)},
          {"momentum_projector", module_state(*momentum_projector_)}};
}

void MoCoV3::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "projector", *projector_, "MoCo v3");
  load_state_entry(state, "predictor", *predictor_, "MoCo v3");
  load_state_entry(state, "momentum_encoder", *momentum_encoder_, "MoCo v3");
  load_state_entry(state, "momentum_projector", *momentum_projector_, "MoCo v3");
}

}  // namespace ssl::trainers
