#pragma once
#include <ATen/core/Tensor.h>

#include <string>

namespace ssl::losses {

/// How per-sample losses are combined into the returned tensor.
enum class Reduction {
  None,  ///< one loss per sample (or anchor), no reduction
  Mean,  ///< average over samples
  Sum,   ///< sum over samples
};

/// Applies `reduction` to a vector of per-sample losses.
at::Tensor reduce(const at::Tensor& per_sample, Reduction reduction);

/// Parses "none" | "mean" | "sum"; throws naming the valid choices otherwise.
Reduction parse_reduction(const std::string& name);

/// The lower-case name of `reduction`.
std::string to_string(Reduction reduction);

}  // namespace ssl::losses
