#include "sslkit/losses/barlow_twins.h"

#include "sslkit/losses/detail/check.h"
#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>

namespace ssl::losses {
namespace {

void check_options(const BarlowTwinsOptions& options, const char* function) {
  detail::check_non_negative(options.off_diagonal_weight(), function, "off_diagonal_weight");
  detail::check_positive(options.epsilon(), function, "epsilon");
}

// BatchNorm1d(affine=False) in training mode: batch mean and biased batch variance per dimension, eps under the root.
at::Tensor batch_standardize(const at::Tensor& z, double epsilon) {
  const auto wide = detail::at_least_float(z);
  const auto mean = wide.mean(0, /*keepdim=*/true);
  const auto variance = wide.var(0, /*unbiased=*/false, /*keepdim=*/true);
  return (wide - mean) / at::sqrt(variance + epsilon);
}

}  // namespace

at::Tensor barlow_twins(const at::Tensor& z1, const at::Tensor& z2, const BarlowTwinsOptions& options) {
  detail::check_embeddings(z1, "barlow_twins", "z1", 2);
  detail::check_embeddings(z2, "barlow_twins", "z2", 2);
  detail::check_same_shape(z1, z2, "barlow_twins", "z1", "z2");
  detail::check_min_rows(z1, 2, "barlow_twins", "z1");
  check_options(options, "barlow_twins");

  const auto n = static_cast<double>(z1.size(0));
  const auto c = at::matmul(batch_standardize(z1, options.epsilon()).t(), batch_standardize(z2, options.epsilon())) / n;
  const auto on_diagonal = (c.diagonal() - 1).pow(2).sum();
  return on_diagonal + options.off_diagonal_weight() * detail::off_diagonal_square_sum(c);
}

BarlowTwinsLossImpl::BarlowTwinsLossImpl(BarlowTwinsOptions options_) : options(options_) { reset(); }

void BarlowTwinsLossImpl::reset() { check_options(options, "BarlowTwinsLoss"); }

void BarlowTwinsLossImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::BarlowTwinsLoss(off_diagonal_weight=" << options.off_diagonal_weight()
         << ", epsilon=" << options.epsilon() << ")";
}

at::Tensor BarlowTwinsLossImpl::forward(const at::Tensor& z1, const at::Tensor& z2) {
  return barlow_twins(z1, z2, options);
}

}  // namespace ssl::losses
