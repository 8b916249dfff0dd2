#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <limits>

namespace ssl::losses::detail {

at::Tensor at_least_float(const at::Tensor& t) {
  return t.scalar_type() == at::kDouble ? t : t.to(at::kFloat);
}

at::Tensor l2_normalize(const at::Tensor& t) {
  const auto wide = at_least_float(t);
  return wide / wide.norm(2, -1, /*keepdim=*/true).clamp_min(1e-12);
}

at::Tensor cross_entropy_rows(const at::Tensor& logits, int64_t target_column) {
  TORCH_INTERNAL_ASSERT(logits.dim() == 2, "cross_entropy_rows expects [N, C] logits");
  const auto target = target_column >= 0 ? logits.select(1, target_column) : logits.diagonal();
  return at::logsumexp(logits, 1) - target;
}

at::Tensor logmeanexp_offdiag(const at::Tensor& scores) {
  const int64_t n = scores.size(0);
  TORCH_INTERNAL_ASSERT(scores.dim() == 2 && scores.size(1) == n && n >= 2, "logmeanexp_offdiag expects [N, N], N >= 2");
  const auto self = at::eye(n, scores.options().dtype(at::kBool));
  const auto masked = scores.masked_fill(self, -std::numeric_limits<double>::infinity());
  return at::logsumexp(masked.reshape({-1}), 0) - std::log(static_cast<double>(n * (n - 1)));
}

}  // namespace ssl::losses::detail
