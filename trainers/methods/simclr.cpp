#include "sslkit/trainers/methods/simclr.h"

#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

namespace ssl::trainers {

SimCLR::SimCLR(Encoder encoder, SimCLROptions options) : encoder_(std::move(encoder)), options_(std::move(options)) {
  TORCH_CHECK(encoder_, "SimCLR needs an encoder");
  TORCH_CHECK_VALUE(options_.projection_hidden_dim() >= 1 && options_.projection_dim() >= 1,
                    "simclr projection head widths must be >= 1, got hidden ", options_.projection_hidden_dim(),
                    " and output ", options_.projection_dim());
  head_ = ProjectionHead(ProjectionHeadOptions(encoder_->feature_dim())
                             .hidden_dim(options_.projection_hidden_dim())
                             .out_dim(options_.projection_dim())
                             .batch_norm(options_.projection_batch_norm()));
  losses::NTXentLossImpl(losses::NTXentOptions().temperature(options_.temperature()));  // validates
}

std::vector<std::shared_ptr<torch::nn::Module>> SimCLR::modules() const { return {encoder_, head_.ptr()}; }

std::shared_ptr<const data::ViewMaker> SimCLR::view_maker(const data::Normalization& norm) const {
  return two_views_or_multi_crop(options_.augment(), options_.local_crops(), options_.local_crop_size(), norm);
}

StepOutput SimCLR::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() >= 2, "SimCLR needs at least two views per image, got ", batch.views.size());
  // Each global view is its own forward pass (BatchNorm statistics per view, as in the reference set-up); on CPU
  // two passes of B images also run faster than one of 2B, whose activations overflow the caches.
  auto z = forward_global_and_local_views(
      *encoder_, [&](const torch::Tensor& features) { return head_->forward(features); }, batch.views);
  Fp32Scope fp32;
  // Data parallel: every rank computes the loss of the global batch (its negatives from all ranks).
  for (auto& view : z) view = all_gather_with_grad(view.to(torch::kFloat), process_group());
  const auto loss_options = losses::NTXentOptions().temperature(options_.temperature());
  auto loss = z.size() == 2 ? losses::nt_xent(z[0], z[1], loss_options) : losses::multi_view_nt_xent(z, loss_options);
  return {loss, {}};
}

std::map<std::string, TensorDict> SimCLR::extra_state() const { return {{"head", module_state(*head_)}}; }

void SimCLR::load_extra_state(const std::map<std::string, TensorDict>& state) {
  const auto head = state.find("head");
  TORCH_CHECK(head != state.end(), "SimCLR: the saved state has no 'head'");
  load_module_state(*head_, head->second, "SimCLR head");
}

}  // namespace ssl::trainers
