#include "sslkit/trainers/methods/dino.h"

#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>

namespace ssl::trainers {

DINOHeadImpl::DINOHeadImpl(const DINOHeadOptions& options_) : options(options_) { reset(); }

void DINOHeadImpl::reset() {
  TORCH_CHECK(options.in_dim() > 0 && options.hidden_dim() > 0 && options.bottleneck_dim() > 0 && options.out_dim() > 0,
              "DINOHead: widths must be > 0, got in_dim=", options.in_dim(), " hidden_dim=", options.hidden_dim(),
              " bottleneck_dim=", options.bottleneck_dim(), " out_dim=", options.out_dim());
  TORCH_CHECK(options.layers() >= 1, "DINOHead: layers must be >= 1, got ", options.layers());
  namespace nn = torch::nn;
  mlp_ = nn::Sequential();
  for (int64_t layer = 0; layer < options.layers(); ++layer) {
    const int64_t in = layer == 0 ? options.in_dim() : options.hidden_dim();
    const int64_t out = layer + 1 == options.layers() ? options.bottleneck_dim() : options.hidden_dim();
    nn::Linear linear(in, out);
    {
      torch::NoGradGuard no_grad;
      linear->weight.normal_(0, 0.02);  // the official trunc_normal_(std=0.02) truncates at +-2, i.e. 100 sigma
      linear->bias.zero_();
    }
    mlp_->push_back(linear);
    if (layer + 1 == options.layers()) continue;
    if (options.batch_norm()) mlp_->push_back(nn::BatchNorm1d(out));
    mlp_->push_back(nn::GELU());
  }
  register_module("mlp", mlp_);
  // nn.Linear's default initialization U(-1/sqrt(fan_in), 1/sqrt(fan_in)); only each row's direction matters.
  const double bound = 1.0 / std::sqrt(static_cast<double>(options.bottleneck_dim()));
  last_layer_ = register_parameter(
      "last_layer", torch::empty({options.out_dim(), options.bottleneck_dim()}).uniform_(-bound, bound));
}

void DINOHeadImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::DINOHead(" << options.in_dim();
  for (int64_t layer = 0; layer + 1 < options.layers(); ++layer) stream << " -> " << options.hidden_dim();
  stream << " -> " << options.bottleneck_dim() << " -> " << options.out_dim() << (options.batch_norm() ? ", batch_norm" : "")
         << ")";
}

torch::Tensor DINOHeadImpl::forward(const torch::Tensor& h, bool freeze_last_layer) {
  const auto x = unit_rows(mlp_->forward(h));
  const auto weight = unit_rows(freeze_last_layer ? last_layer_.detach() : last_layer_);
  return x.mm(weight.to(x.scalar_type()).t());
}

double dino_teacher_temperature(const DINOMethodOptions& options, double progress) {
  const double warmup = options.teacher_warmup_fraction();
  if (warmup <= 0 || progress >= warmup) return options.teacher_temperature();
  const double t = std::max(progress, 0.0) / warmup;
  return options.warmup_teacher_temperature() + t * (options.teacher_temperature() - options.warmup_teacher_temperature());
}

namespace {

const DINOMethodOptions& checked(const DINOMethodOptions& o) {
  TORCH_CHECK_VALUE(o.teacher_temperature() > 0 && o.warmup_teacher_temperature() > 0,
                    "dino teacher temperatures must be > 0, got ", o.warmup_teacher_temperature(), " and ",
                    o.teacher_temperature());
  TORCH_CHECK_VALUE(o.teacher_warmup_fraction() >= 0 && o.teacher_warmup_fraction() <= 1,
                    "dino teacher warm-up fraction must be in [0, 1], got ", o.teacher_warmup_fraction());
  TORCH_CHECK_VALUE(o.center_momentum() >= 0 && o.center_momentum() <= 1,
                    "dino center momentum must be in [0, 1], got ", o.center_momentum());
  TORCH_CHECK_VALUE(o.freeze_last_layer_steps() >= 0, "dino freeze_last_layer_steps must be >= 0, got ",
                    o.freeze_last_layer_steps());
  losses::DINOLossImpl{losses::DINOOptions().student_temperature(o.student_temperature())};  // validates
  return o;
}

}  // namespace

DINOMethod::DINOMethod(Encoder encoder, Encoder teacher_encoder, DINOMethodOptions options)
    : encoder_(std::move(encoder)), teacher_encoder_(std::move(teacher_encoder)), options_(checked(options)),
      ema_(options_.ema_momentum(), "dino") {
  TORCH_CHECK(encoder_ && teacher_encoder_, "DINO needs an encoder and a teacher encoder");
  const auto head = DINOHeadOptions(options_.head()).in_dim(encoder_->feature_dim());
  head_ = DINOHead(head);
  teacher_head_ = DINOHead(head);
  copy_and_freeze(*encoder_, *teacher_encoder_, "DINO teacher encoder (it must have the encoder's architecture)");
  copy_and_freeze(*head_, *teacher_head_, "DINO teacher head");
  state_ = std::make_shared<torch::nn::Module>("DINOState");
  state_->register_buffer("center", torch::zeros({head.out_dim()}));
  state_->register_buffer("steps", torch::zeros({1}, torch::kLong));
}

std::vector<std::shared_ptr<torch::nn::Module>> DINOMethod::modules() const {
  return {encoder_, head_.ptr(), teacher_encoder_, teacher_head_.ptr(), state_};
}

std::shared_ptr<const data::ViewMaker> DINOMethod::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::MultiCrop>(options_.crops(), norm);
}

torch::Tensor DINOMethod::center() const { return state_->named_buffers()["center"]; }

int64_t DINOMethod::steps() const { return state_->named_buffers()["steps"].item<int64_t>(); }

void DINOMethod::update_teacher() {
  const double m = momentum();
  ema_update(*encoder_, *teacher_encoder_, m);
  ema_update(*head_, *teacher_head_, m);
}

StepOutput DINOMethod::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() >= 2, "DINO needs at least two crops per image, got ", batch.views.size());
  const double m = momentum();
  update_teacher();
  const bool freeze = steps() < options_.freeze_last_layer_steps();
  // As the official MultiCropWrapper: the encoder per crop size, the head on every crop at once.
  const auto views = static_cast<int64_t>(batch.views.size());
  auto student = head_->forward(torch::cat(encode_views(*encoder_, batch.views)), freeze).chunk(views);
  std::vector<torch::Tensor> teacher;
  {
    torch::NoGradGuard no_grad;
    teacher = teacher_head_->forward(torch::cat(encode_views(*teacher_encoder_, {batch.views[0], batch.views[1]})))
                  .chunk(2);
  }
  Fp32Scope fp32;
  for (auto& s : student) s = s.to(torch::kFloat);
  for (auto& t : teacher) t = t.to(torch::kFloat);
  const double tau_t = dino_teacher_temperature(options_, ema_.progress());
  const auto loss = losses::dino(student, teacher, center(),
                                 losses::DINOOptions()
                                     .student_temperature(options_.student_temperature())
                                     .teacher_temperature(tau_t));
  {
    torch::NoGradGuard no_grad;
    ProcessGroup* group = process_group();
    std::function<void(at::Tensor&)> all_reduce_sum;
    if (group) all_reduce_sum = [group](at::Tensor& t) { group->all_reduce(t); };
    center().copy_(losses::dino_center_update(center(), teacher, options_.center_momentum(), all_reduce_sum,
                                              group ? group->world_size() : 1));
    state_->named_buffers()["steps"].add_(1);
  }
  return {loss, {{"ema_momentum", m}, {"teacher_temperature", tau_t}}};
}

std::map<std::string, TensorDict> DINOMethod::extra_state() const {
  return {{"head", module_state(*head_)},
          {"teacher_encoder", module_state(*teacher_encoder_)},
          {"teacher_head", module_state(*teacher_head_)},
          {"state", module_state(*state_)}};
}

void DINOMethod::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "head", *head_, "DINO");
  load_state_entry(state, "teacher_encoder", *teacher_encoder_, "DINO");
  load_state_entry(state, "teacher_head", *teacher_head_, "DINO");
  load_state_entry(state, "state", *state_, "DINO");
}

}  // namespace ssl::trainers
