#include "sslkit/losses/sinkhorn.h"

#include "sslkit/losses/detail/check.h"
#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

namespace ssl::losses {
namespace {

void check_options(const SinkhornOptions& options, const char* function) {
  detail::check_positive(options.epsilon(), function, "epsilon");
  TORCH_CHECK(options.iterations() >= 1, function, ": iterations must be >= 1, got ", options.iterations());
  TORCH_CHECK(options.world_size() >= 1, function, ": world_size must be >= 1, got ", options.world_size());
  TORCH_CHECK(options.world_size() == 1 || options.all_reduce_sum(), function, ": world_size ",
              options.world_size(), " needs an all_reduce_sum");
}

}  // namespace

at::Tensor sinkhorn(const at::Tensor& scores, const SinkhornOptions& options) {
  detail::check_embeddings(scores, "sinkhorn", "scores", 2);
  TORCH_CHECK(scores.size(1) > 0, "sinkhorn: scores has no prototypes (shape ", scores.sizes(), ")");
  check_options(options, "sinkhorn");

  at::NoGradGuard no_grad;
  const auto& all_reduce_sum = options.all_reduce_sum();
  auto logits = detail::at_least_float(scores.detach());
  if (!all_reduce_sum) logits = logits - logits.max();  // exp(-max / epsilon) cancels in Q / sum(Q)
  auto q = at::exp(logits / options.epsilon()).t();      // [K, N]
  const auto b = static_cast<double>(scores.size(0) * options.world_size());
  const auto k = static_cast<double>(scores.size(1));
  auto total = q.sum();
  if (all_reduce_sum) all_reduce_sum(total);
  q = q / total;
  for (int64_t it = 0; it < options.iterations(); ++it) {
    auto prototype_mass = q.sum(1, /*keepdim=*/true);  // [K, 1]
    if (all_reduce_sum) all_reduce_sum(prototype_mass);
    q = q / prototype_mass / k;
    q = q / q.sum(0, /*keepdim=*/true) / b;  // each sample's column is local to its rank
  }
  return (q * b).t();
}

SinkhornImpl::SinkhornImpl(SinkhornOptions options_) : options(options_) { reset(); }

void SinkhornImpl::reset() { check_options(options, "Sinkhorn"); }

void SinkhornImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::Sinkhorn(epsilon=" << options.epsilon() << ", iterations=" << options.iterations()
         << ", world_size=" << options.world_size()
         << ", all_reduce_sum=" << (options.all_reduce_sum() ? "set" : "none") << ")";
}

at::Tensor SinkhornImpl::forward(const at::Tensor& scores) { return sinkhorn(scores, options); }

}  // namespace ssl::losses
