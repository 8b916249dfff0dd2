#pragma once
// Instance retrieval: every query ranks a gallery by cosine similarity; a gallery item is relevant when it has the
// query's label.
#include <torch/arg.h>
#include <torch/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace ssl::eval {

/// Options of `retrieval`.
struct RetrievalOptions {
  /// Cut-offs k of the precision@k columns.
  TORCH_ARG(std::vector<int64_t>, precision_at) = std::vector<int64_t>{1, 10, 100};
  /// Queries ranked at once (memory grows with it times the gallery size).
  TORCH_ARG(int64_t, query_batch) = 128;
};

/// Scores of `retrieval`, each a mean over queries.
struct RetrievalResult {
  /// MAP@R (Musgrave et al. 2020, "A Metric Learning Reality Check"): with R the query's relevant gallery items,
  /// the mean over the first R ranks of precision@i at each relevant rank i, divided by R.
  double map_at_r = 0;
  /// Mean average precision over the full ranking: the mean of precision@i over the ranks i of all R relevant items.
  double mean_average_precision = 0;
  /// (k, fraction of the first k ranks that are relevant), one per `precision_at` cut-off (k capped by the gallery).
  std::vector<std::pair<int64_t, double>> precision_at;
  /// Queries scored (those with at least one relevant gallery item; see `queries_without_relevant`).
  int64_t queries = 0;
  /// Queries whose label no gallery item has: left out of every mean, since nothing can be retrieved for them.
  int64_t queries_without_relevant = 0;
  /// Gallery items ranked per query.
  int64_t gallery = 0;
  /// Width of the features.
  int64_t feature_dim = 0;
};

/// Ranks `gallery_features` [G, D] for every row of `query_features` [Q, D] by cosine similarity (ties keep gallery
/// order) and scores the ranking against the labels ([G] and [Q], int64). Throws naming the shapes when they do not
/// fit, and when a cut-off is not positive.
RetrievalResult retrieval(const torch::Tensor& gallery_features, const torch::Tensor& gallery_labels,
                          const torch::Tensor& query_features, const torch::Tensor& query_labels,
                          const RetrievalOptions& options = {});

}  // namespace ssl::eval
