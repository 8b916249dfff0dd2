#include "sslkit/losses/nt_xent.h"

#include "sslkit/losses/detail/check.h"

#include <ATen/ATen.h>

#include <limits>

namespace ssl::losses {

at::Tensor nt_xent(const at::Tensor& z1, const at::Tensor& z2, const NTXentOptions& options) {
  detail::check_embeddings(z1, "nt_xent", "z1", 2);
  detail::check_embeddings(z2, "nt_xent", "z2", 2);
  detail::check_same_shape(z1, z2, "nt_xent", "z1", "z2");
  detail::check_temperature(options.temperature(), "nt_xent");

  const int64_t n = z1.size(0);
  // Normalization in float32 or wider keeps the log-sum-exp exact under bf16/fp16 autocast.
  auto z = at::cat({z1, z2}, 0);
  if (z.scalar_type() != at::kDouble) z = z.to(at::kFloat);
  z = z / z.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12);
  auto logits = at::matmul(z, z.t()) / options.temperature();
  // An anchor is never its own negative: -inf on the diagonal, in place (no mask tensor, no gather).
  logits.diagonal().fill_(-std::numeric_limits<double>::infinity());
  // Anchor i < N pairs with column i + N, anchor N + i with column i: the two off-diagonals at offset +-N.
  auto positive_logit = at::cat({logits.diagonal(n), logits.diagonal(-n)}, 0);
  auto per_anchor = at::logsumexp(logits, 1) - positive_logit;
  return reduce(per_anchor, options.reduction());
}

NTXentLossImpl::NTXentLossImpl(NTXentOptions options_) : options(options_) { reset(); }

void NTXentLossImpl::reset() { detail::check_temperature(options.temperature(), "NTXentLoss"); }

void NTXentLossImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::NTXentLoss(temperature=" << options.temperature()
         << ", reduction=" << to_string(options.reduction()) << ")";
}

at::Tensor NTXentLossImpl::forward(const at::Tensor& z1, const at::Tensor& z2) {
  return nt_xent(z1, z2, options);
}

}  // namespace ssl::losses
