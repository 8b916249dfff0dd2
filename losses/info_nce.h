#pragma once
#include "sslkit/losses/reduction.h"

#include <torch/arg.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <string>

namespace ssl::losses {

/// How a query is scored against a key.
enum class Similarity {
  Cosine,  ///< cosine similarity: both vectors L2-normalized, then dot product (SimCLR, MoCo)
  Dot,     ///< raw dot product, CPC's (bi)linear critic; scores grow with the embedding norms
};

/// Parses "cosine" | "dot"; throws naming the valid choices otherwise.
Similarity parse_similarity(const std::string& name);

/// The lower-case name of `similarity`.
std::string to_string(Similarity similarity);

/// Options for `info_nce` (van den Oord et al. 2018; MoCo, He et al. 2020).
struct InfoNCEOptions {
  /// Softmax temperature tau dividing the similarities; must be > 0.
  TORCH_ARG(double, temperature) = 0.1;
  /// Cosine similarity (default) or raw dot product.
  TORCH_ARG(Similarity, similarity) = Similarity::Cosine;
  /// Mean over the N queries, sum, or none (a [N] tensor).
  TORCH_ARG(Reduction, reduction) = Reduction::Mean;
};

/// InfoNCE with in-batch negatives over query and positive_key of shape [N, D]: query i's positive is key i
/// and the other N-1 keys are its negatives, l_i = -s(q_i, k_i)/tau + log sum_j exp(s(q_i, k_j)/tau).
at::Tensor info_nce(const at::Tensor& query, const at::Tensor& positive_key, const InfoNCEOptions& options = {});

/// InfoNCE against explicit negatives (the MoCo convention): negative_keys is shared [M, D] or per-query
/// [N, M, D], and query i is scored against its positive key i and those M negatives ONLY (the other
/// positive keys of the batch are not used): l_i = -s(q_i, k_i)/tau + log(exp(s(q_i, k_i)/tau) +
/// sum_m exp(s(q_i, n_m)/tau)).
at::Tensor info_nce(const at::Tensor& query, const at::Tensor& positive_key, const at::Tensor& negative_keys,
                    const InfoNCEOptions& options = {});

/// The [N, N] logits s(q_i, k_j)/tau that the in-batch `info_nce` scores (row i's positive at column i).
at::Tensor info_nce_logits(const at::Tensor& query, const at::Tensor& positive_key,
                           const InfoNCEOptions& options = {});

/// Module wrapper of `info_nce`.
class InfoNCELossImpl : public torch::nn::Cloneable<InfoNCELossImpl> {
 public:
  explicit InfoNCELossImpl(InfoNCEOptions options = {});
  /// Validates the options; holds no parameters.
  void reset() override;
  /// Prints the options.
  void pretty_print(std::ostream& stream) const override;
  /// Calls `info_nce(query, positive_key, options)`, or the explicit-negatives form when given.
  at::Tensor forward(const at::Tensor& query, const at::Tensor& positive_key, const at::Tensor& negative_keys = {});
  /// The options this module was built with.
  InfoNCEOptions options;
};
TORCH_MODULE(InfoNCELoss);

}  // namespace ssl::losses
