#include "sslkit/losses/negative_cosine.h"

#include "sslkit/losses/detail/check.h"
#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>

namespace ssl::losses {

at::Tensor negative_cosine(const at::Tensor& p, const at::Tensor& z, const NegativeCosineOptions& options) {
  detail::check_embeddings(p, "negative_cosine", "p", 2);
  detail::check_embeddings(z, "negative_cosine", "z", 2);
  detail::check_same_shape(p, z, "negative_cosine", "p", "z");
  const auto cosine = (detail::l2_normalize(p) * detail::l2_normalize(z.detach())).sum(1);
  return reduce(-cosine, options.reduction());
}

NegativeCosineLossImpl::NegativeCosineLossImpl(NegativeCosineOptions options_) : options(options_) { reset(); }

void NegativeCosineLossImpl::reset() {}

void NegativeCosineLossImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::NegativeCosineLoss(reduction=" << to_string(options.reduction()) << ")";
}

at::Tensor NegativeCosineLossImpl::forward(const at::Tensor& p, const at::Tensor& z) {
  return negative_cosine(p, z, options);
}

}  // namespace ssl::losses
