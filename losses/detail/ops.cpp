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

at::Tensor off_diagonal_square_sum(const at::Tensor& square) {
  const int64_t d = square.size(0);
  TORCH_INTERNAL_ASSERT(square.dim() == 2 && square.size(1) == d, "off_diagonal_square_sum expects [D, D]");
  // Row-major, the entries after (i, i) up to (i + 1, i + 1) are the D off-diagonal ones between two diagonal
  // entries: dropping the first element, rows of a [D - 1, D + 1] view start right after a diagonal entry and end
  // on the next one, so their first D columns are exactly the off-diagonal entries.
  if (d < 2) return square.sum() * 0;
  const auto off = square.reshape({-1}).narrow(0, 1, d * d - 1).view({d - 1, d + 1}).narrow(1, 0, d);
  return off.pow(2).sum();
}

at::Tensor logmeanexp_offdiag(const at::Tensor& scores) {
  const int64_t n = scores.size(0);
  TORCH_INTERNAL_ASSERT(scores.dim() == 2 && scores.size(1) == n && n >= 2, "logmeanexp_offdiag expects [N, N], N >= 2");
  const auto self = at::eye(n, scores.options().dtype(at::kBool));
  const auto masked = scores.masked_fill(self, -std::numeric_limits<double>::infinity());
  return at::logsumexp(masked.reshape({-1}), 0) - std::log(static_cast<double>(n * (n - 1)));
}

}  // namespace ssl::losses::detail
