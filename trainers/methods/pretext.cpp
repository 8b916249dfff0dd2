#include "sslkit/trainers/methods/pretext.h"

#include "sslkit/data/views/multi_crop.h"
#include "sslkit/data/views/two_views.h"

#include "sslkit/trainers/precision.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/normalization.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>
#include <cmath>

namespace ssl::trainers {

torch::Tensor unit_rows(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::normalize(x, F::NormalizeFuncOptions().dim(1));
}

double top1_accuracy(const torch::Tensor& logits, const torch::Tensor& targets) {
  TORCH_CHECK(logits.dim() == 2 && targets.dim() == 1 && logits.size(0) == targets.size(0),
              "top1_accuracy needs logits [N, C] and targets [N], got ", logits.sizes(), " and ", targets.sizes());
  return logits.detach().argmax(1).eq(targets).to(torch::kDouble).mean().item<double>();
}

torch::Tensor encode_patches(EncoderImpl& encoder, const torch::Tensor& patches) {
  TORCH_CHECK(patches.dim() == 5, "encode_patches needs patches [B, N, C, h, w], got ", patches.sizes());
  const int64_t b = patches.size(0), n = patches.size(1);
  return encoder.forward(patches.flatten(0, 1)).view({b, n, -1});
}

namespace {

/// `fn` applied to each run of consecutive views of one size concatenated along the batch, its output split back
/// into one tensor per view.
std::vector<torch::Tensor> apply_by_size(const std::vector<torch::Tensor>& views,
                                         const std::function<torch::Tensor(const torch::Tensor&)>& fn) {
  std::vector<torch::Tensor> outputs;
  for (size_t first = 0; first < views.size();) {
    size_t end = first + 1;
    while (end < views.size() && views[end].sizes() == views[first].sizes()) ++end;
    const std::vector<torch::Tensor> group(views.begin() + static_cast<std::ptrdiff_t>(first),
                                           views.begin() + static_cast<std::ptrdiff_t>(end));
    const auto output = fn(group.size() == 1 ? group[0] : torch::cat(group));
    for (auto& part : output.chunk(static_cast<int64_t>(group.size()))) outputs.push_back(part);
    first = end;
  }
  return outputs;
}

}  // namespace

std::vector<torch::Tensor> encode_views(EncoderImpl& encoder, const std::vector<torch::Tensor>& views) {
  return apply_by_size(views, [&](const torch::Tensor& x) { return encoder.forward(x); });
}

std::vector<torch::Tensor> forward_global_and_local_views(
    EncoderImpl& encoder, const std::function<torch::Tensor(const torch::Tensor&)>& head,
    const std::vector<torch::Tensor>& views) {
  TORCH_CHECK(views.size() >= 2, "a two-view or multi-crop batch needs at least two views, got ", views.size());
  const auto encode_and_head = [&](const torch::Tensor& x) { return head(encoder.forward(x)); };
  std::vector<torch::Tensor> outputs{encode_and_head(views[0]), encode_and_head(views[1])};
  const auto local = apply_by_size({views.begin() + 2, views.end()}, encode_and_head);
  outputs.insert(outputs.end(), local.begin(), local.end());
  return outputs;
}

std::shared_ptr<const data::ViewMaker> two_views_or_multi_crop(const data::ContrastiveAugmentOptions& augment,
                                                               int64_t local_crops, int64_t local_crop_size,
                                                               const data::Normalization& norm) {
  if (local_crops == 0) return std::make_shared<data::TwoViews>(augment, norm);
  const auto crops =
      data::MultiCropOptions().global(augment).local_crops(local_crops).local_crop_size(local_crop_size);
  return std::make_shared<data::MultiCrop>(crops, norm);
}

torch::nn::Sequential make_classifier(int64_t in_dim, int64_t hidden_dim, int64_t classes) {
  TORCH_CHECK(in_dim >= 1 && hidden_dim >= 0 && classes >= 2, "a pretext classifier needs in_dim >= 1, hidden_dim >= 0 ",
              "and >= 2 classes, got ", in_dim, ", ", hidden_dim, ", ", classes);
  if (hidden_dim == 0) return torch::nn::Sequential(torch::nn::Linear(in_dim, classes));
  return torch::nn::Sequential(torch::nn::Linear(in_dim, hidden_dim), torch::nn::ReLU(),
                               torch::nn::Linear(hidden_dim, classes));
}

double byol_momentum(double base, double progress) {
  const double k = std::clamp(progress, 0.0, 1.0);
  return 1.0 - (1.0 - base) * (std::cos(M_PI * k) + 1.0) / 2.0;
}

EmaSchedule::EmaSchedule(double base, const std::string& method) : base_(base) {
  TORCH_CHECK_VALUE(base >= 0 && base <= 1, method, " ema momentum must be in [0, 1], got ", base);
}

void copy_and_freeze(const torch::nn::Module& from, torch::nn::Module& to, const std::string& what) {
  load_module_state(to, module_state(from), what);
  for (auto& p : to.parameters()) p.set_requires_grad(false);
}

void ema_update(const torch::nn::Module& online, torch::nn::Module& target, double momentum) {
  torch::NoGradGuard no_grad;
  const auto source = online.parameters();
  auto destination = target.parameters();
  TORCH_INTERNAL_ASSERT(source.size() == destination.size());
  for (size_t i = 0; i < source.size(); ++i) destination[i].mul_(momentum).add_(source[i].detach(), 1.0 - momentum);
}

void load_state_entry(const std::map<std::string, TensorDict>& state, const std::string& name,
                      torch::nn::Module& module, const std::string& method) {
  const auto found = state.find(name);
  TORCH_CHECK(found != state.end(), method, ": the saved state has no '", name, "'");
  load_module_state(module, found->second, method + " " + name);
}

PretextClassifier::PretextClassifier(Encoder encoder, int64_t in_dim, int64_t hidden_dim, int64_t classes)
    : encoder_(std::move(encoder)) {
  TORCH_CHECK(encoder_, "a pretext classifier needs an encoder");
  classifier_ = make_classifier(in_dim, hidden_dim, classes);
}

std::vector<std::shared_ptr<torch::nn::Module>> PretextClassifier::modules() const {
  return {encoder_, classifier_.ptr()};
}

StepOutput PretextClassifier::step(const data::Batch& batch) {
  auto [inputs, targets] = classifier_inputs(batch);
  auto logits = classifier_->forward(inputs);
  Fp32Scope fp32;
  logits = logits.to(torch::kFloat);
  auto loss = torch::nn::functional::cross_entropy(logits, targets);
  return {loss, {{"accuracy", top1_accuracy(logits, targets)}}};
}

std::map<std::string, TensorDict> PretextClassifier::extra_state() const {
  return {{"classifier", module_state(*classifier_)}};
}

void PretextClassifier::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "classifier", *classifier_, name());
}

}  // namespace ssl::trainers
