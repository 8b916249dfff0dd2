#include "sslkit/trainers/methods/vicreg.h"

#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

namespace ssl::trainers {

VICRegMethod::VICRegMethod(Encoder encoder, VICRegMethodOptions options)
    : encoder_(std::move(encoder)), options_(std::move(options)) {
  TORCH_CHECK(encoder_, "VICReg needs an encoder");
  expander_ = ProjectionHead(ProjectionHeadOptions(encoder_->feature_dim())
                                 .hidden_dim(options_.projection_dim())
                                 .out_dim(options_.projection_dim())
                                 .layers(3)
                                 .batch_norm(true));
  losses::VICRegLossImpl{loss_options()};  // validates
}

losses::VICRegOptions VICRegMethod::loss_options() const {
  return losses::VICRegOptions()
      .invariance_weight(options_.invariance_weight())
      .variance_weight(options_.variance_weight())
      .covariance_weight(options_.covariance_weight());
}

std::vector<std::shared_ptr<torch::nn::Module>> VICRegMethod::modules() const { return {encoder_, expander_.ptr()}; }

std::shared_ptr<const data::ViewMaker> VICRegMethod::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::TwoViews>(options_.augment(), norm);
}

StepOutput VICRegMethod::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 2, "VICReg needs two views per image, got ", batch.views.size());
  auto z1 = expander_->forward(encoder_->forward(batch.views[0]));
  auto z2 = expander_->forward(encoder_->forward(batch.views[1]));
  Fp32Scope fp32;
  // Data parallel: every rank computes the loss of the global batch (statistics over all ranks' embeddings).
  z1 = all_gather_with_grad(z1.to(torch::kFloat), process_group());
  z2 = all_gather_with_grad(z2.to(torch::kFloat), process_group());
  return {losses::vicreg(z1, z2, loss_options()), {}};
}

std::map<std::string, TensorDict> VICRegMethod::extra_state() const {
  return {{"expander", module_state(*expander_)}};
}

void VICRegMethod::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "expander", *expander_, "VICReg");
}

}  // namespace ssl::trainers
