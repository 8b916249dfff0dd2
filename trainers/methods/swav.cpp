#include "sslkit/trainers/methods/swav.h"

#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

#include <torch/nn/functional/activation.h>

#include <cmath>

namespace ssl::trainers {
namespace {

const SwAVOptions& checked(const SwAVOptions& o) {
  TORCH_CHECK_VALUE(o.prototypes() >= 2, "swav needs >= 2 prototypes, got ", o.prototypes());
  TORCH_CHECK_VALUE(o.projection_dim() >= 1 && o.hidden_dim() >= 1, "swav widths must be >= 1, got hidden ",
                    o.hidden_dim(), " and projection ", o.projection_dim());
  TORCH_CHECK_VALUE(std::isfinite(o.temperature()) && o.temperature() > 0, "swav temperature must be > 0, got ",
                    o.temperature());
  TORCH_CHECK_VALUE(o.freeze_prototypes_steps() >= 0, "swav freeze_prototypes_steps must be >= 0, got ",
                    o.freeze_prototypes_steps());
  TORCH_CHECK_VALUE(o.queue_size() >= 0, "swav queue size must be >= 0, got ", o.queue_size());
  losses::SinkhornImpl{o.sinkhorn()};  // validates
  return o;
}

}  // namespace

SwAV::SwAV(Encoder encoder, SwAVOptions options) : encoder_(std::move(encoder)), options_(checked(options)) {
  TORCH_CHECK(encoder_, "SwAV needs an encoder");
  projector_ = ProjectionHead(ProjectionHeadOptions(encoder_->feature_dim())
                                  .hidden_dim(options_.hidden_dim())
                                  .out_dim(options_.projection_dim())
                                  .batch_norm(true));
  prototypes_ = std::make_shared<torch::nn::Module>("SwAVPrototypes");
  // nn.Linear(D, K, bias=False)'s default initialization, U(-1/sqrt(D), 1/sqrt(D)); normalized before each step.
  const double bound = 1.0 / std::sqrt(static_cast<double>(options_.projection_dim()));
  prototypes_->register_parameter(
      "weight", torch::empty({options_.prototypes(), options_.projection_dim()}).uniform_(-bound, bound));
  state_ = std::make_shared<torch::nn::Module>("SwAVState");
  state_->register_buffer("steps", torch::zeros({1}, torch::kLong));
  state_->register_buffer("queue", torch::zeros({2, options_.queue_size(), options_.projection_dim()}));
  state_->register_buffer("queued", torch::zeros({1}, torch::kLong));
}

std::vector<std::shared_ptr<torch::nn::Module>> SwAV::modules() const {
  return {encoder_, projector_.ptr(), prototypes_, state_};
}

std::shared_ptr<const data::ViewMaker> SwAV::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::MultiCrop>(options_.crops(), norm);
}

torch::Tensor SwAV::prototypes() const { return prototypes_->named_parameters()["weight"]; }

int64_t SwAV::steps() const { return state_->named_buffers()["steps"].item<int64_t>(); }

torch::Tensor SwAV::codes(int64_t crop, const torch::Tensor& scores, const torch::Tensor& prototypes) {
  torch::NoGradGuard no_grad;
  ProcessGroup* group = process_group();
  auto global = scores.detach().to(torch::kFloat);
  if (group) global = group->all_gather(global);
  const int64_t batch = global.size(0);
  const auto queue = state_->named_buffers()["queue"];
  if (options_.queue_size() > 0 && state_->named_buffers()["queued"].item<int64_t>() >= options_.queue_size()) {
    global = torch::cat({queue[crop].mm(prototypes.detach().to(torch::kFloat).t()), global});
  }
  auto q = losses::sinkhorn(global, options_.sinkhorn()).narrow(0, global.size(0) - batch, batch);
  if (group) q = q.narrow(0, group->rank() * scores.size(0), scores.size(0));
  return q;
}

void SwAV::enqueue(const std::vector<torch::Tensor>& embeddings) {
  if (options_.queue_size() == 0) return;
  torch::NoGradGuard no_grad;
  auto queue = state_->named_buffers()["queue"];
  auto queued = state_->named_buffers()["queued"];
  for (size_t crop = 0; crop < 2; ++crop) {
    auto rows = embeddings[crop].detach().to(torch::kFloat);
    if (process_group()) rows = process_group()->all_gather(rows);
    const int64_t b = rows.size(0), size = options_.queue_size();
    TORCH_CHECK(size % b == 0, "swav queue size ", size, " must be a multiple of the global batch ", b);
    queue[crop].narrow(0, b, size - b).copy_(queue[crop].narrow(0, 0, size - b).clone());
    queue[crop].narrow(0, 0, b).copy_(rows);
    if (crop == 0) queued.add_(b).clamp_max_(size);
  }
}

StepOutput SwAV::step(const data::Batch& batch) {
  const int64_t crops = static_cast<int64_t>(batch.views.size());
  TORCH_CHECK(crops >= 2, "SwAV needs at least two crops per image, got ", crops);
  {
    torch::NoGradGuard no_grad;
    prototypes().copy_(unit_rows(prototypes()));
  }
  const bool freeze = steps() < options_.freeze_prototypes_steps();
  const auto weight = freeze ? prototypes().detach() : prototypes();
  const auto features = torch::cat(encode_views(*encoder_, batch.views));
  const auto z = unit_rows(projector_->forward(features));
  const auto all_scores = z.mm(weight.to(z.scalar_type()).t());
  Fp32Scope fp32;
  const auto embeddings = z.to(torch::kFloat).chunk(crops);
  const auto scores = all_scores.to(torch::kFloat).chunk(crops);
  torch::Tensor loss;
  for (int64_t i = 0; i < 2; ++i) {
    const auto q = codes(i, scores[static_cast<size_t>(i)], weight);
    torch::Tensor subloss;
    for (int64_t v = 0; v < crops; ++v) {
      if (v == i) continue;
      const auto log_p = torch::log_softmax(scores[static_cast<size_t>(v)] / options_.temperature(), 1);
      const auto term = -(q * log_p).sum(1).mean();
      subloss = subloss.defined() ? subloss + term : term;
    }
    subloss = subloss / static_cast<double>(crops - 1);
    loss = loss.defined() ? loss + subloss : subloss;
  }
  enqueue({embeddings[0], embeddings[1]});
  {
    torch::NoGradGuard no_grad;
    state_->named_buffers()["steps"].add_(1);
  }
  return {loss / 2.0, {}};
}

std::map<std::string, TensorDict> SwAV::extra_state() const {
  return {{"projector", module_state(*projector_)},
          {"prototypes", module_state(*prototypes_)},
          {"state", module_state(*state_)}};
}

void SwAV::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "projector", *projector_, "SwAV");
  load_state_entry(state, "prototypes", *prototypes_, "SwAV");
  load_state_entry(state, "state", *state_, "SwAV");
}

}  // namespace ssl::trainers
