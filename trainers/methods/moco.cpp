#include "sslkit/trainers/methods/moco.h"

#include "sslkit/losses/info_nce.h"
#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

#include <functional>

namespace ssl::trainers {
namespace {

// `forward` over `groups` chunks of `x` taken in the order `order` (a permutation of the rows), the outputs put
// back in the rows' original order; each chunk's BatchNorm layers see that chunk's statistics only.
torch::Tensor forward_in_groups(const std::function<torch::Tensor(const torch::Tensor&)>& forward,
                                const torch::Tensor& x, int64_t groups, const torch::Tensor& order) {
  if (groups == 1) return forward(x);
  std::vector<torch::Tensor> outputs;
  for (const auto& chunk : x.index_select(0, order).chunk(groups)) outputs.push_back(forward(chunk));
  const auto shuffled = torch::cat(outputs);
  return torch::empty_like(shuffled).index_copy_(0, order, shuffled);
}

}  // namespace

MoCo::MoCo(Encoder encoder, Encoder key_encoder, MoCoOptions options)
    : encoder_(std::move(encoder)), key_encoder_(std::move(key_encoder)), options_(std::move(options)) {
  TORCH_CHECK(encoder_ && key_encoder_, "MoCo needs an encoder and a key encoder");
  TORCH_CHECK_VALUE(options_.momentum() >= 0 && options_.momentum() <= 1, "moco momentum must be in [0, 1], got ",
              options_.momentum());
  TORCH_CHECK_VALUE(options_.queue_size() >= 1, "moco queue size must be >= 1, got ", options_.queue_size());
  TORCH_CHECK_VALUE(options_.projection_hidden_dim() >= 1, "moco projection hidden width must be >= 1, got ",
                    options_.projection_hidden_dim());
  TORCH_CHECK_VALUE(options_.temperature() > 0, "moco temperature must be > 0, got ", options_.temperature());
  TORCH_CHECK_VALUE(options_.bn_groups() >= 1, "moco bn_groups must be >= 1, got ", options_.bn_groups());
  const auto head_options = ProjectionHeadOptions(encoder_->feature_dim())
                                .hidden_dim(options_.projection_hidden_dim())
                                .out_dim(options_.projection_dim());
  head_ = ProjectionHead(head_options);
  key_head_ = ProjectionHead(head_options);
  copy_and_freeze(*encoder_, *key_encoder_, "MoCo key encoder (it must have the encoder's architecture)");
  copy_and_freeze(*head_, *key_head_, "MoCo key head");
  queue_ = std::make_shared<torch::nn::Module>("MoCoQueue");
  queue_->register_buffer("queue", unit_rows(torch::randn({options_.queue_size(), options_.projection_dim()})));
  queue_->register_buffer("pointer", torch::zeros({1}, torch::kLong));
}

std::vector<std::shared_ptr<torch::nn::Module>> MoCo::modules() const {
  return {encoder_, head_.ptr(), key_encoder_, key_head_.ptr(), queue_};
}

std::shared_ptr<const data::ViewMaker> MoCo::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::TwoViews>(options_.augment(), norm);
}

void MoCo::update_key_encoder() {
  torch::NoGradGuard no_grad;
  ema_update(*encoder_, *key_encoder_, options_.momentum());
  ema_update(*head_, *key_head_, options_.momentum());
}

void MoCo::enqueue(const torch::Tensor& keys) {
  torch::NoGradGuard no_grad;
  auto queue = queue_->named_buffers()["queue"];
  auto pointer = queue_->named_buffers()["pointer"];
  const int64_t size = queue.size(0);
  TORCH_CHECK(keys.dim() == 2 && keys.size(1) == queue.size(1) && keys.size(0) <= size, "MoCo: cannot enqueue keys ",
              keys.sizes(), " into a queue of ", queue.sizes());
  const int64_t at = pointer.item<int64_t>();
  const auto rows = (torch::arange(keys.size(0), pointer.options()) + at).remainder(size);
  queue.index_copy_(0, rows, keys.detach().to(queue.dtype()));
  pointer.fill_((at + keys.size(0)) % size);
}

torch::Tensor MoCo::queue() const { return queue_->named_buffers()["queue"]; }

int64_t MoCo::queue_pointer() const { return queue_->named_buffers()["pointer"].item<int64_t>(); }

StepOutput MoCo::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 2, "MoCo needs two views per image, got ", batch.views.size());
  const int64_t batch_size = batch.views[0].size(0);
  TORCH_CHECK(batch_size >= options_.bn_groups(), "MoCo: a batch of ", batch_size, " images cannot be split into ",
              options_.bn_groups(), " BatchNorm groups");
  update_key_encoder();
  const auto in_order = torch::arange(batch_size, torch::TensorOptions(torch::kLong).device(batch.views[0].device()));
  auto query = [&](const torch::Tensor& x) {
    return forward_in_groups([&](const torch::Tensor& c) { return head_->forward(encoder_->forward(c)); }, x,
                             options_.bn_groups(), in_order);
  };
  auto key = [&](const torch::Tensor& x) {
    torch::NoGradGuard no_grad;
    const auto shuffle = options_.bn_groups() == 1 ? in_order : torch::randperm(batch_size, in_order.options());
    return forward_in_groups([&](const torch::Tensor& c) { return key_head_->forward(key_encoder_->forward(c)); },
                             x, options_.bn_groups(), shuffle);
  };
  auto q1 = query(batch.views[0]);
  auto k2 = key(batch.views[1]);
  torch::Tensor q2, k1;
  if (options_.symmetric()) {
    q2 = query(batch.views[1]);
    k1 = key(batch.views[0]);
  }

  Fp32Scope fp32;
  // A copy: the queue is updated in place below, before backward needs the negatives of this step.
  const auto negatives = queue().clone();
  const auto nce = losses::InfoNCEOptions().temperature(options_.temperature());
  auto contrast = [&](const torch::Tensor& q, const torch::Tensor& k) {
    return losses::info_nce(q.to(torch::kFloat), unit_rows(k.to(torch::kFloat)), negatives, nce);
  };
  torch::Tensor loss = options_.symmetric() ? 0.5 * (contrast(q1, k2) + contrast(q2, k1)) : contrast(q1, k2);

  double accuracy = 0;
  {
    torch::NoGradGuard no_grad;
    const auto q = unit_rows(q1.to(torch::kFloat));
    const auto k = unit_rows(k2.to(torch::kFloat));
    const auto positive = (q * k).sum(1);
    const auto hardest_negative = std::get<0>(q.mm(negatives.t()).max(1));
    accuracy = positive.gt(hardest_negative).to(torch::kDouble).mean().item<double>();
    // Data parallel: every rank enqueues the keys of the global batch in rank order, as one process would.
    auto* group = process_group();
    auto global = [&](const torch::Tensor& keys) { return group != nullptr ? group->all_gather(keys) : keys; };
    enqueue(options_.symmetric() ? torch::cat({global(k), global(unit_rows(k1.to(torch::kFloat)))}) : global(k));
  }
  return {loss, {{"accuracy", accuracy}}};
}

std::map<std::string, TensorDict> MoCo::extra_state() const {
  return {{"head", module_state(*head_)},
          {"key_encoder", module_state(*key_encoder_)},
          {"key_head", module_state(*key_head_)},
          {"queue", module_state(*queue_)}};
}

void MoCo::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "head", *head_, "MoCo");
  load_state_entry(state, "key_encoder", *key_encoder_, "MoCo");
  load_state_entry(state, "key_head", *key_head_, "MoCo");
  load_state_entry(state, "queue", *queue_, "MoCo");
}

}  // namespace ssl::trainers
