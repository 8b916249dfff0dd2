#pragma once
#include <ATen/core/Tensor.h>

namespace ssl::losses::detail {

/// `t` in float32 or wider (float64 stays float64), so that log-sum-exps are exact under fp16/bf16 inputs.
at::Tensor at_least_float(const at::Tensor& t);

/// `t` (of any rank) L2-normalized along its last dimension, computed in float32 or wider.
at::Tensor l2_normalize(const at::Tensor& t);

/// Per-row cross entropy of a [N, C] logit matrix whose row i has its target at column `target_column`
/// (or at column i when `target_column` is negative): logsumexp(logits[i]) - logits[i][target].
at::Tensor cross_entropy_rows(const at::Tensor& logits, int64_t target_column = -1);

/// Sum of the squares of the D(D-1) off-diagonal entries of a square [D, D] matrix (Barlow Twins, VICReg).
at::Tensor off_diagonal_square_sum(const at::Tensor& square);

/// log of the mean of exp(scores[i][j]) over the N(N-1) off-diagonal entries of a square matrix (N >= 2).
at::Tensor logmeanexp_offdiag(const at::Tensor& scores);

}  // namespace ssl::losses::detail
