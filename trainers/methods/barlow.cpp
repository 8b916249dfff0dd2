#include "sslkit/trainers/methods/barlow.h"

#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

namespace ssl::trainers {

BarlowTwinsMethod::BarlowTwinsMethod(Encoder encoder, BarlowTwinsMethodOptions options)
    : encoder_(std::move(encoder)), options_(std::move(options)) {
  TORCH_CHECK(encoder_, "Barlow Twins needs an encoder");
  projector_ = ProjectionHead(ProjectionHeadOptions(encoder_->feature_dim())
                                  .hidden_dim(options_.projection_dim())
                                  .out_dim(options_.projection_dim())
                                  .layers(3)
                                  .batch_norm(true));
  losses::BarlowTwinsLossImpl{loss_options()};  // validates
}

losses::BarlowTwinsOptions BarlowTwinsMethod::loss_options() const {
  return losses::BarlowTwinsOptions().off_diagonal_weight(options_.off_diagonal_weight());
}

std::vector<std::shared_ptr<torch::nn::Module>> BarlowTwinsMethod::modules() const {
  return {encoder_, projector_.ptr()};
}

std::shared_ptr<const data::ViewMaker> BarlowTwinsMethod::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::TwoViews>(options_.augment(), norm);
}

StepOutput BarlowTwinsMethod::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 2, "Barlow Twins needs two views per image, got ", batch.views.size());
  auto z1 = projector_->forward(encoder_->forward(batch.views[0]));
  auto z2 = projector_->forward(encoder_->forward(batch.views[1]));
  Fp32Scope fp32;
  // Data parallel: every rank computes the loss of the global batch (statistics over all ranks' embeddings).
  z1 = all_gather_with_grad(z1.to(torch::kFloat), process_group());
  z2 = all_gather_with_grad(z2.to(torch::kFloat), process_group());
  return {losses::barlow_twins(z1, z2, loss_options()), {}};
}

std::map<std::string, TensorDict> BarlowTwinsMethod::extra_state() const {
  return {{"projector", module_state(*projector_)}};
}

void BarlowTwinsMethod::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "projector", *projector_, "Barlow Twins");
}

}  // namespace ssl::trainers
