#include "sslkit/trainers/methods/byol.h"

#include "sslkit/losses/negative_cosine.h"
#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

#include <algorithm>
#include <cmath>

namespace ssl::trainers {

BYOL::BYOL(Encoder encoder, Encoder target_encoder, BYOLOptions options)
    : encoder_(std::move(encoder)), target_encoder_(std::move(target_encoder)), options_(std::move(options)),
      ema_(options_.ema_momentum(), "byol") {
  TORCH_CHECK(encoder_ && target_encoder_, "BYOL needs an encoder and a target encoder");
  const auto mlp = ProjectionHeadOptions(encoder_->feature_dim())
                       .hidden_dim(options_.hidden_dim())
                       .out_dim(options_.projection_dim())
                       .batch_norm(true);
  projector_ = ProjectionHead(mlp);
  target_projector_ = ProjectionHead(mlp);
  predictor_ = ProjectionHead(ProjectionHeadOptions(mlp).in_dim(options_.projection_dim()));
  copy_and_freeze(*encoder_, *target_encoder_, "BYOL target encoder (it must have the encoder's architecture)");
  copy_and_freeze(*projector_, *target_projector_, "BYOL target projector");
}

std::vector<std::shared_ptr<torch::nn::Module>> BYOL::modules() const {
  return {encoder_, projector_.ptr(), predictor_.ptr(), target_encoder_, target_projector_.ptr()};
}

std::shared_ptr<const data::ViewMaker> BYOL::view_maker(const data::Normalization& norm) const {
  return two_views_or_multi_crop(options_.augment(), options_.local_crops(), options_.local_crop_size(), norm);
}

void BYOL::update_target() {
  const double tau = momentum();
  ema_update(*encoder_, *target_encoder_, tau);
  ema_update(*projector_, *target_projector_, tau);
}

StepOutput BYOL::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() >= 2, "BYOL needs at least two views per image, got ", batch.views.size());
  const double tau = momentum();
  update_target();
  // The global views each through the online networks on its own (BatchNorm statistics per view, as solo-learn's
  // BYOL), the local crops of one size together.
  const auto online = forward_global_and_local_views(
      *encoder_, [&](const torch::Tensor& features) { return predictor_->forward(projector_->forward(features)); },
      batch.views);
  std::vector<torch::Tensor> target;
  {
    torch::NoGradGuard no_grad;
    for (size_t g = 0; g < 2; ++g) target.push_back(target_projector_->forward(target_encoder_->forward(batch.views[g])));
  }
  Fp32Scope fp32;
  auto regression = [](const torch::Tensor& p, const torch::Tensor& t) {
    return 2 + 2 * losses::negative_cosine(p.to(torch::kFloat), t.to(torch::kFloat));
  };
  // Every online view against the target of each other global view: (p2, t1) + (p1, t2) for two views.
  torch::Tensor loss = regression(online[1], target[0]) + regression(online[0], target[1]);
  for (size_t v = 2; v < online.size(); ++v) loss = loss + regression(online[v], target[0]) + regression(online[v], target[1]);
  return {loss, {{"ema_momentum", tau}}};
}

std::map<std::string, TensorDict> BYOL::extra_state() const {
  return {{"projector", module_state(*projector_)},
          {"predictor", module_state(*predictor_)},
          {"target_encoder", module_state(*target_encoder_)},
          {"target_projector", module_state(*target_projector_)}};
}

void BYOL::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "projector", *projector_, "BYOL");
  load_state_entry(state, "predictor", *predictor_, "BYOL");
  load_state_entry(state, "target_encoder", *target_encoder_, "BYOL");
  load_state_entry(state, "target_projector", *target_projector_, "BYOL");
}

}  // namespace ssl::trainers
