#include "sslkit/trainers/eval/retrieval.h"

#include <c10/util/Exception.h>
#include <torch/nn/functional/normalization.h>

#include <algorithm>

namespace ssl::eval {
namespace {

void check_inputs(const torch::Tensor& gallery, const torch::Tensor& gallery_labels, const torch::Tensor& queries,
                  const torch::Tensor& query_labels, const RetrievalOptions& options) {
  TORCH_CHECK_VALUE(gallery.dim() == 2 && queries.dim() == 2 && gallery.size(1) == queries.size(1),
                    "retrieval: expected gallery [G, D] and query [Q, D] features of one width, got ", gallery.sizes(),
                    " and ", queries.sizes());
  TORCH_CHECK_VALUE(gallery.size(0) > 0 && queries.size(0) > 0, "retrieval: the gallery and the queries need rows, got ",
                    gallery.size(0), " and ", queries.size(0));
  TORCH_CHECK_VALUE(gallery_labels.dim() == 1 && gallery_labels.size(0) == gallery.size(0),
                    "retrieval: the gallery has ", gallery.size(0), " feature rows but labels of shape ",
                    gallery_labels.sizes());
  TORCH_CHECK_VALUE(query_labels.dim() == 1 && query_labels.size(0) == queries.size(0), "retrieval: the queries have ",
                    queries.size(0), " feature rows but labels of shape ", query_labels.sizes());
  TORCH_CHECK_VALUE(options.query_batch() > 0, "retrieval: query batch must be > 0, got ", options.query_batch());
  for (const int64_t k : options.precision_at()) {
    TORCH_CHECK_VALUE(k > 0, "retrieval: precision@k needs k > 0, got ", k);
  }
}

torch::Tensor unit(const torch::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::normalize(x.to(torch::kFloat), F::NormalizeFuncOptions().dim(1));
}

}  // namespace

RetrievalResult retrieval(const torch::Tensor& gallery_features, const torch::Tensor& gallery_labels,
                          const torch::Tensor& query_features, const torch::Tensor& query_labels,
                          const RetrievalOptions& options) {
  check_inputs(gallery_features, gallery_labels, query_features, query_labels, options);
  torch::NoGradGuard no_grad;
  const auto gallery = unit(gallery_features);
  const auto queries = unit(query_features).to(gallery.device());
  const auto g_labels = gallery_labels.to(gallery.device(), torch::kLong);
  const auto q_labels = query_labels.to(gallery.device(), torch::kLong);
  const int64_t G = gallery.size(0), Q = queries.size(0);
  const auto ranks = torch::arange(1, G + 1, gallery.options().dtype(torch::kDouble));

  RetrievalResult result;
  result.gallery = G;
  result.feature_dim = gallery.size(1);
  std::vector<int64_t> cutoffs;
  for (const int64_t k : options.precision_at()) cutoffs.push_back(std::min(k, G));
  std::vector<double> precision_sums(cutoffs.size(), 0.0);
  double ap_sum = 0, ap_at_r_sum = 0;
  for (int64_t start = 0; start < Q; start += options.query_batch()) {
    const int64_t n = std::min(options.query_batch(), Q - start);
    const auto similarity = torch::matmul(queries.narrow(0, start, n), gallery.t());
    const auto order = std::get<1>(torch::sort(similarity, /*stable=*/true, /*dim=*/1, /*descending=*/true));
    // relevant[q, i]: whether the gallery item at rank i + 1 shares query q's label.
    const auto relevant = g_labels.index_select(0, order.reshape(-1)).view({n, G}).eq(q_labels.narrow(0, start, n).unsqueeze(1));
    const auto hits = relevant.to(torch::kDouble);
    const auto precision = hits.cumsum(1) / ranks;
    const auto r = hits.sum(1);
    const auto scored = r.gt(0);
    const auto safe_r = r.clamp_min(1);
    const auto ap = (precision * hits).sum(1) / safe_r;
    const auto ap_at_r = (precision * hits * ranks.unsqueeze(0).le(r.unsqueeze(1))).sum(1) / safe_r;
    ap_sum += ap.masked_select(scored).sum().item<double>();
    ap_at_r_sum += ap_at_r.masked_select(scored).sum().item<double>();
    for (size_t c = 0; c < cutoffs.size(); ++c) {
      precision_sums[c] += precision.select(1, cutoffs[c] - 1).masked_select(scored).sum().item<double>();
    }
    result.queries += scored.sum().item<int64_t>();
  }
  result.queries_without_relevant = Q - result.queries;
  const double scored_queries = static_cast<double>(std::max<int64_t>(result.queries, 1));
  result.mean_average_precision = ap_sum / scored_queries;
  result.map_at_r = ap_at_r_sum / scored_queries;
  for (size_t c = 0; c < cutoffs.size(); ++c) {
    result.precision_at.emplace_back(options.precision_at()[c], precision_sums[c] / scored_queries);
  }
  return result;
}

}  // namespace ssl::eval
