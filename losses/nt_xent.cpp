#include "sslkit/losses/nt_xent.h"

#include "sslkit/losses/detail/check.h"

#include <ATen/ATen.h>

#include <limits>
#include <string>

namespace ssl::losses {
namespace {

// The cosine similarities / temperature of the rows of `views` stacked, with -inf on the diagonal: an anchor is
// never its own negative (in place, no mask tensor). Normalization in float32 or wider keeps the log-sum-exp
// exact under bf16/fp16 autocast.
at::Tensor self_masked_logits(at::TensorList views, double temperature) {
  auto z = at::cat(views, 0);
  if (z.scalar_type() != at::kDouble) z = z.to(at::kFloat);
  z = z / z.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12);
  auto logits = at::matmul(z, z.t()) / temperature;
  logits.diagonal().fill_(-std::numeric_limits<double>::infinity());
  return logits;
}

}  // namespace

at::Tensor nt_xent(const at::Tensor& z1, const at::Tensor& z2, const NTXentOptions& options) {
  detail::check_embeddings(z1, "nt_xent", "z1", 2);
  detail::check_embeddings(z2, "nt_xent", "z2", 2);
  detail::check_same_shape(z1, z2, "nt_xent", "z1", "z2");
  detail::check_temperature(options.temperature(), "nt_xent");

  const int64_t n = z1.size(0);
  auto logits = self_masked_logits({z1, z2}, options.temperature());
  // Anchor i < N pairs with column i + N, anchor N + i with column i: the two off-diagonals at offset +-N.
  auto positive_logit = at::cat({logits.diagonal(n), logits.diagonal(-n)}, 0);
  auto per_anchor = at::logsumexp(logits, 1) - positive_logit;
  return reduce(per_anchor, options.reduction());
}

at::Tensor multi_view_nt_xent(const std::vector<at::Tensor>& views, const NTXentOptions& options) {
  TORCH_CHECK(views.size() >= 2, "multi_view_nt_xent: needs at least 2 views, got ", views.size());
  for (size_t v = 0; v < views.size(); ++v) {
    const auto name = "views[" + std::to_string(v) + "]";
    detail::check_embeddings(views[v], "multi_view_nt_xent", name.c_str(), 2);
    detail::check_same_shape(views[v], views[0], "multi_view_nt_xent", name.c_str(), "views[0]");
  }
  detail::check_temperature(options.temperature(), "multi_view_nt_xent");

  const int64_t n = views[0].size(0);
  auto logits = self_masked_logits(views, options.temperature());
  // Rows i and j show the same image when i - j is a multiple of N; a row is not its own positive.
  const auto image = at::arange(logits.size(0), logits.options().dtype(at::kLong)).remainder(n);
  auto other_image = image.unsqueeze(1) != image.unsqueeze(0);
  other_image.diagonal().fill_(true);
  auto positive_logit =
      at::logsumexp(logits.masked_fill(other_image, -std::numeric_limits<double>::infinity()), 1);
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
