#include "sslkit/trainers/methods/instdisc.h"

#include "sslkit/data/views/single_view.h"
#include "sslkit/losses/info_nce.h"
#include "sslkit/losses/nce.h"
#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

#include <cmath>

namespace ssl::trainers {

InstDiscLoss parse_instdisc_loss(const std::string& name) {
  if (name == "nce") return InstDiscLoss::NCE;
  if (name == "softmax") return InstDiscLoss::Softmax;
  TORCH_CHECK_VALUE(false, "unknown instdisc loss '", name, "': expected nce or softmax");
}

InstDisc::InstDisc(Encoder encoder, int64_t num_images, InstDiscOptions options)
    : encoder_(std::move(encoder)), options_(std::move(options)) {
  TORCH_CHECK(encoder_, "InstDisc needs an encoder");
  TORCH_CHECK_VALUE(num_images >= 2, "instdisc needs at least 2 training images, got ", num_images);
  TORCH_CHECK_VALUE(options_.negatives() >= 1, "instdisc needs >= 1 noise samples (nce-negatives), got ",
              options_.negatives());
  TORCH_CHECK_VALUE(options_.temperature() > 0, "instdisc temperature must be > 0, got ", options_.temperature());
  TORCH_CHECK_VALUE(options_.bank_momentum() >= 0 && options_.bank_momentum() < 1,
              "instdisc bank momentum must be in [0, 1), got ", options_.bank_momentum());
  TORCH_CHECK_VALUE(options_.normalizer_momentum() >= 0 && options_.normalizer_momentum() <= 1,
              "instdisc normalizer momentum must be in [0, 1], got ", options_.normalizer_momentum());
  TORCH_CHECK_VALUE(options_.feature_dim() >= 1, "instdisc feature dim must be >= 1, got ", options_.feature_dim());
  projection_ = torch::nn::Linear(encoder_->feature_dim(), options_.feature_dim());
  memory_ = std::make_shared<torch::nn::Module>("InstDiscMemory");
  // The paper's code starts from uniform noise in [-1/sqrt(D/3), 1/sqrt(D/3)]; the rows are normalized here.
  memory_->register_buffer("bank", unit_rows(torch::rand({num_images, options_.feature_dim()}) - 0.5));
  memory_->register_buffer("normalizer", torch::zeros({1}, torch::kDouble));
  memory_->register_buffer("visited", torch::zeros({num_images}, torch::kBool));
}

std::vector<std::shared_ptr<torch::nn::Module>> InstDisc::modules() const {
  return {encoder_, projection_.ptr(), memory_};
}

std::shared_ptr<const data::ViewMaker> InstDisc::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::SingleView>(options_.augment(), norm);
}

torch::Tensor InstDisc::bank() const { return memory_->named_buffers()["bank"]; }

double InstDisc::normalizer() const { return memory_->named_buffers()["normalizer"].item<double>(); }

void InstDisc::update_bank(const torch::Tensor& indices, const torch::Tensor& features) {
  torch::NoGradGuard no_grad;
  auto bank = this->bank();
  TORCH_CHECK(indices.dim() == 1 && features.dim() == 2 && features.size(0) == indices.size(0) &&
                  features.size(1) == bank.size(1),
              "InstDisc: cannot write features ", features.sizes(), " at indices ", indices.sizes(), " of a bank ",
              bank.sizes());
  const auto old = bank.index_select(0, indices);
  auto visited = memory_->named_buffers()["visited"];
  auto m = torch::full({indices.size(0), 1}, options_.bank_momentum(), bank.options());
  if (options_.fill_on_first_visit()) m.masked_fill_(visited.index_select(0, indices).logical_not().unsqueeze(1), 0.0);
  bank.index_copy_(0, indices, unit_rows(old * m + features.detach().to(bank.dtype()) * (1 - m)));
  visited.index_fill_(0, indices, true);
}

StepOutput InstDisc::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 1, "InstDisc needs one view per image, got ", batch.views.size());
  TORCH_CHECK(batch.indices.defined(), "InstDisc needs the batch's image indices");
  auto z = projection_->forward(encoder_->forward(batch.views[0]));

  Fp32Scope fp32;
  const auto f = unit_rows(z.to(torch::kFloat));
  const auto bank = this->bank();
  const int64_t n = bank.size(0);
  const auto indices = batch.indices.to(bank.device());
  const auto noise = torch::randint(n, {options_.negatives()}, indices.options());
  const double tau = options_.temperature();
  // Bank rows are constants (no gradient), so the in-place update after this step leaves backward intact.
  const auto loss = options_.loss() == InstDiscLoss::Softmax
                        ? losses::info_nce(f, bank.index_select(0, indices), bank.index_select(0, noise),
                                           losses::InfoNCEOptions().temperature(tau))
                        : nce_loss(f, bank, indices, noise);
  if (process_group() != nullptr) {  // every rank's bank takes the whole global batch's features
    update_bank(process_group()->all_gather(indices), process_group()->all_gather(f.detach()));
  } else {
    update_bank(indices, f);
  }
  return {loss, {}};
}

torch::Tensor InstDisc::nce_loss(const torch::Tensor& f, const torch::Tensor& bank, const torch::Tensor& indices,
                                 const torch::Tensor& noise) {
  const double tau = options_.temperature();
  const int64_t n = bank.size(0);
  const auto positive_scores = (f * bank.index_select(0, indices)).sum(1) / tau;  // [B]
  const auto noise_scores = f.mm(bank.index_select(0, noise).t()) / tau;           // [B, K]
  auto normalizer = memory_->named_buffers()["normalizer"];
  {
    torch::NoGradGuard no_grad;
    auto estimate = noise_scores.to(torch::kDouble).exp().mean() * static_cast<double>(n);
    if (process_group() != nullptr) {  // data parallel: the mean over the global batch, the same on every rank
      estimate = estimate.reshape({1});
      process_group()->all_reduce(estimate);
      estimate = estimate[0] / static_cast<double>(process_group()->world_size());
    }
    const double m = options_.normalizer_momentum();
    if (normalizer.item<double>() == 0) normalizer.fill_(estimate);
    else if (m < 1) normalizer.mul_(m).add_(estimate * (1 - m));
  }
  const auto log_z = normalizer.log().to(torch::kFloat);
  const auto log_noise = torch::full({}, -std::log(static_cast<double>(n)), f.options());
  return losses::nce(positive_scores - log_z, noise_scores - log_z, log_noise, log_noise);
}

std::map<std::string, TensorDict> InstDisc::extra_state() const {
  return {{"projection", module_state(*projection_)}, {"memory", module_state(*memory_)}};
}

void InstDisc::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "projection", *projection_, "InstDisc");
  load_state_entry(state, "memory", *memory_, "InstDisc");
}

}  // namespace ssl::trainers
