#include "sslkit/losses/cpc.h"

#include "sslkit/losses/detail/check.h"
#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>

#include <ostream>

namespace ssl::losses {

CPCImpl::CPCImpl(CPCOptions options_) : options(options_) { reset(); }

void CPCImpl::reset() {
  TORCH_CHECK_VALUE(options.dim() > 0 && options.context_dim() > 0 && options.steps() >= 1,
              "CPC: dim and context_dim must be > 0 and steps >= 1, got dim ", options.dim(), ", context_dim ",
              options.context_dim(), ", steps ", options.steps());
  context = register_module(
      "context", torch::nn::GRU(torch::nn::GRUOptions(options.dim(), options.context_dim()).batch_first(true)));
  predictors = register_module("predictors", torch::nn::ModuleList());
  for (int64_t k = 1; k <= options.steps(); ++k) {
    predictors->push_back(torch::nn::Linear(torch::nn::LinearOptions(options.context_dim(), options.dim()).bias(false)));
  }
}

void CPCImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::CPC(dim=" << options.dim() << ", context_dim=" << options.context_dim()
         << ", steps=" << options.steps() << ")";
}

CPCOutput CPCImpl::forward(const at::Tensor& z) {
  TORCH_CHECK(z.defined(), "CPC: z is an undefined tensor");
  TORCH_CHECK(z.dim() == 3 || z.dim() == 4, "CPC: expected a sequence [B, T, D] or a patch grid [B, D, G, G], ",
              "got shape ", z.sizes());
  detail::check_embeddings(z, "CPC", "z", z.dim());
  const bool grid = z.dim() == 4;
  const int64_t k_max = options.steps(), d = options.dim();
  TORCH_CHECK(!grid || (z.size(1) == d && z.size(2) == z.size(3) && z.size(2) > k_max),
              "CPC: a patch grid must be [B, ", d, ", G, G] with G > steps = ", k_max, ", got shape ", z.sizes());
  TORCH_CHECK(grid || (z.size(2) == d && z.size(1) > k_max), "CPC: a sequence must be [B, T, ", d,
              "] with T > steps = ", k_max, ", got shape ", z.sizes());
  // Grid [B, D, G(rows), G(cols)] -> one sequence per column running down the rows: [B * G, G, D].
  const auto sequences = grid ? z.permute({0, 3, 2, 1}).reshape({-1, z.size(2), d}) : z;
  const int64_t t = sequences.size(1);
  const auto c = std::get<0>(context->forward(sequences));  // [B', T, context_dim]

  std::vector<at::Tensor> losses, accuracy;
  for (int64_t k = 1; k <= k_max; ++k) {
    // Contexts at t = 0..T-1-k predict the patches at t + k; every other target of step k is a negative.
    const auto predicted = predictors[k - 1]->as<torch::nn::Linear>()->forward(c.narrow(1, 0, t - k));
    const auto logits = at::matmul(detail::at_least_float(predicted.reshape({-1, d})),
                                   detail::at_least_float(sequences.narrow(1, k, t - k).reshape({-1, d})).t());
    losses.push_back(detail::cross_entropy_rows(logits).mean());
    const auto correct = logits.argmax(1) == at::arange(logits.size(0), logits.options().dtype(at::kLong));
    accuracy.push_back(correct.to(logits.scalar_type()).mean().detach());
  }
  const auto step_losses = at::stack(losses);
  return {step_losses.mean(), step_losses.detach(), at::stack(accuracy)};
}

}  // namespace ssl::losses
