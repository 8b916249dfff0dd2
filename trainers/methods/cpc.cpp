#include "sslkit/trainers/methods/cpc.h"

#include "sslkit/trainers/methods/pretext.h"
#include "sslkit/trainers/precision.h"

namespace ssl::trainers {

CPCMethod::CPCMethod(Encoder encoder, CPCMethodOptions options)
    : encoder_(std::move(encoder)), options_(std::move(options)) {
  TORCH_CHECK(encoder_, "CPC needs an encoder");
  TORCH_CHECK_VALUE(options_.steps() >= 1 && options_.steps() < options_.view().grid(), "cpc steps must be in 1..",
              options_.view().grid() - 1, " for a ", options_.view().grid(), "x", options_.view().grid(),
              " patch grid, got ", options_.steps());
  cpc_ = losses::CPC(
      losses::CPCOptions(encoder_->feature_dim()).context_dim(options_.context_dim()).steps(options_.steps()));
}

std::vector<std::shared_ptr<torch::nn::Module>> CPCMethod::modules() const { return {encoder_, cpc_.ptr()}; }

std::shared_ptr<const data::ViewMaker> CPCMethod::view_maker(const data::Normalization& norm) const {
  return std::make_shared<data::PatchGrid>(options_.view(), norm);
}

StepOutput CPCMethod::step(const data::Batch& batch) {
  TORCH_CHECK(batch.views.size() == 1, "CPC needs one view (the patch grid) per image, got ", batch.views.size());
  const int64_t g = options_.view().grid();
  const auto& patches = batch.views[0];
  TORCH_CHECK(patches.dim() == 5 && patches.size(1) == g * g, "CPC needs patches [B, ", g * g,
              ", C, h, w] in row-major grid order, got ", patches.sizes());
  const auto z = encode_patches(*encoder_, patches);  // [B, g*g, D]
  Fp32Scope fp32;
  // Row-major patches -> [B, D, row, column], the grid layout losses::CPC reads.
  const auto grid = z.to(torch::kFloat).view({z.size(0), g, g, z.size(2)}).permute({0, 3, 1, 2});
  auto out = cpc_->forward(grid);
  return {out.loss, {{"accuracy", out.accuracy.mean().item<double>()}}};
}

std::map<std::string, TensorDict> CPCMethod::extra_state() const { return {{"cpc", module_state(*cpc_)}}; }

void CPCMethod::load_extra_state(const std::map<std::string, TensorDict>& state) {
  load_state_entry(state, "cpc", *cpc_, "CPC");
}

}  // namespace ssl::trainers
