#include "sslkit/losses/nt_xent.h"

#include "sslkit/losses/check.h"

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
  auto self = at::eye(2 * n, logits.options().dtype(at::kBool));
  logits = logits.masked_fill(self, -std::numeric_limits<double>::infinity());
  auto positive = at::cat({at::arange(n, 2 * n), at::arange(0, n)}).to(logits.device());
  auto positive_logit = logits.gather(1, positive.unsqueeze(1)).squeeze(1);
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
