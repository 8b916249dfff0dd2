#include "sslkit/losses/info_nce.h"

#include "sslkit/losses/detail/check.h"
#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>

namespace ssl::losses {
namespace {

at::Tensor prepare(const at::Tensor& t, Similarity similarity) {
  return similarity == Similarity::Cosine ? detail::l2_normalize(t) : detail::at_least_float(t);
}

void check_pair(const at::Tensor& query, const at::Tensor& positive_key, const InfoNCEOptions& options) {
  detail::check_embeddings(query, "info_nce", "query", 2);
  detail::check_embeddings(positive_key, "info_nce", "positive_key", 2);
  detail::check_same_shape(query, positive_key, "info_nce", "query", "positive_key");
  detail::check_temperature(options.temperature(), "info_nce");
}

}  // namespace

Similarity parse_similarity(const std::string& name) {
  if (name == "cosine") return Similarity::Cosine;
  if (name == "dot") return Similarity::Dot;
  TORCH_CHECK(false, "unknown similarity '", name, "': expected one of cosine, dot");
}

std::string to_string(Similarity similarity) {
  return similarity == Similarity::Cosine ? "cosine" : "dot";
}

at::Tensor info_nce_logits(const at::Tensor& query, const at::Tensor& positive_key, const InfoNCEOptions& options) {
  check_pair(query, positive_key, options);
  const auto q = prepare(query, options.similarity());
  const auto k = prepare(positive_key, options.similarity());
  return at::matmul(q, k.t()) / options.temperature();
}

at::Tensor info_nce(const at::Tensor& query, const at::Tensor& positive_key, const InfoNCEOptions& options) {
  return reduce(detail::cross_entropy_rows(info_nce_logits(query, positive_key, options)), options.reduction());
}

at::Tensor info_nce(const at::Tensor& query, const at::Tensor& positive_key, const at::Tensor& negative_keys,
                    const InfoNCEOptions& options) {
  check_pair(query, positive_key, options);
  TORCH_CHECK(negative_keys.defined(), "info_nce: negative_keys is an undefined tensor");
  const int64_t n = query.size(0), d = query.size(1);
  TORCH_CHECK(negative_keys.dim() == 2 || negative_keys.dim() == 3,
              "info_nce: negative_keys must be [M, D] (shared) or [N, M, D] (per query), got shape ",
              negative_keys.sizes());
  TORCH_CHECK(negative_keys.scalar_type() == query.scalar_type(), "info_nce: query and negative_keys must have the ",
              "same dtype, got ", query.scalar_type(), " and ", negative_keys.scalar_type());
  TORCH_CHECK(negative_keys.device() == query.device(), "info_nce: query and negative_keys must be on the same ",
              "device, got ", query.device(), " and ", negative_keys.device());
  const bool shared = negative_keys.dim() == 2;
  TORCH_CHECK(negative_keys.size(-1) == d && (shared || negative_keys.size(0) == n),
              "info_nce: negative_keys of shape ", negative_keys.sizes(), " does not match query of shape ",
              query.sizes(), " (expected [M, ", d, "] or [", n, ", M, ", d, "])");
  TORCH_CHECK(negative_keys.size(-2) > 0, "info_nce: negative_keys holds no negatives (shape ",
              negative_keys.sizes(), ")");

  const auto q = prepare(query, options.similarity());
  const auto k = prepare(positive_key, options.similarity());
  const auto neg = prepare(negative_keys, options.similarity());
  const auto positive = (q * k).sum(1, /*keepdim=*/true);                                  // [N, 1]
  const auto negative = shared ? at::matmul(q, neg.t())                                     // [N, M]
                               : at::matmul(neg, q.unsqueeze(2)).squeeze(2);               // [N, M]
  const auto logits = at::cat({positive, negative}, 1) / options.temperature();
  return reduce(detail::cross_entropy_rows(logits, /*target_column=*/0), options.reduction());
}

InfoNCELossImpl::InfoNCELossImpl(InfoNCEOptions options_) : options(options_) { reset(); }

void InfoNCELossImpl::reset() { detail::check_temperature(options.temperature(), "InfoNCELoss"); }

void InfoNCELossImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::InfoNCELoss(temperature=" << options.temperature()
         << ", similarity=" << to_string(options.similarity()) << ", reduction=" << to_string(options.reduction())
         << ")";
}

at::Tensor InfoNCELossImpl::forward(const at::Tensor& query, const at::Tensor& positive_key,
                                    const at::Tensor& negative_keys) {
  return negative_keys.defined() ? info_nce(query, positive_key, negative_keys, options)
                                 : info_nce(query, positive_key, options);
}

}  // namespace ssl::losses
