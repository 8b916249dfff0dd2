#include "sslkit/trainers/methods/simsiam.h"

#include "sslkit/losses/negative_cosine.h"
#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

namespace ssl::trainers {

SimSiam::SimSiam(Encoder encoder, SimSiamOptions options) : encoder_(std::move(encoder)), options_(std::move(options)) {
  TORCH_CHECK(encoder_, "SimSiam needs an encoder");
  projector_ = ProjectionHead(ProjectionHeadOptions(encoder_->feature_dim())
                                  .hidden_dim(options_.projection_dim())
                                  .out_dim(options_.projection_dim())
                                  .layers(3)
                                  .batch_norm(true)
                                  .output_batch_norm(true));
  predictor_ = ProjectionHead(ProjectionHeadOptions(options_.projection_dim())
                                  .hidden_dim(options_.prediction_hidden_dim())
                                  .out_dim(options_.projection_dim())
                                  .batch_norm(true));
}

std::vector<std::shared_ptr<torch::nn::Module>> SimSiam::modules() const {
  return {encoder_, projector_.ptr(), predictor_.ptr()};
}

std::shared_ptr<const data::ViewMaker> SimSiam::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::TwoViews>(options_.augment(), norm);
}

StepOutput SimSiam::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 2, "SimSiam needs two views per image, got ", batch.views.size());
  const auto z1 = projector_->forward(encoder_->forward(batch.views[0]));
  const auto z2 = projector_->forward(encoder_->forward(batch.views[1]));
  const auto p1 = predictor_->forward(z1), p2 = predictor_->forward(z2);
  Fp32Scope fp32;
  auto d = [](const torch::Tensor& p, const torch::Tensor& z) {
    return losses::negative_cosine(p.to(torch::kFloat), z.to(torch::kFloat));  // z detached inside
  };
  return {d(p1, z2) / 2 + d(p2, z1) / 2, {}};
}

std::map<std::string, TensorDict> SimSiam::extra_state() const {
  return {{"projector", module_state(*projector_)}, {"predictor", module_state(*predictor_)}};
}

void SimSiam::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "projector", *projector_, "SimSiam");
  load_state_entry(state, "predictor", *predictor_, "SimSiam");
}

}  // namespace ssl::trainers
