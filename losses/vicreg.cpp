#include "sslkit/losses/vicreg.h"

#include "sslkit/losses/detail/check.h"
#include "sslkit/losses/detail/ops.h"

#include <ATen/ATen.h>

#include <utility>

namespace ssl::losses {
namespace {

void check_options(const VICRegOptions& options, const char* function) {
  detail::check_non_negative(options.invariance_weight(), function, "invariance_weight");
  detail::check_non_negative(options.variance_weight(), function, "variance_weight");
  detail::check_non_negative(options.covariance_weight(), function, "covariance_weight");
  detail::check_positive(options.epsilon(), function, "epsilon");
}

// One branch's variance and covariance terms from its centred embeddings: (mean_d relu(1 - std_d),
// sum_{i != j} cov_ij^2 / D).
std::pair<at::Tensor, at::Tensor> regularizers(const at::Tensor& centred, double epsilon) {
  const auto n = static_cast<double>(centred.size(0));
  const auto d = static_cast<double>(centred.size(1));
  const auto deviation = at::sqrt(centred.var(0, /*unbiased=*/true) + epsilon);
  const auto covariance = at::matmul(centred.t(), centred) / (n - 1);
  return {at::relu(1 - deviation).mean(), detail::off_diagonal_square_sum(covariance) / d};
}

}  // namespace

at::Tensor vicreg(const at::Tensor& z1, const at::Tensor& z2, const VICRegOptions& options) {
  detail::check_embeddings(z1, "vicreg", "z1", 2);
  detail::check_embeddings(z2, "vicreg", "z2", 2);
  detail::check_same_shape(z1, z2, "vicreg", "z1", "z2");
  detail::check_min_rows(z1, 2, "vicreg", "z1");
  check_options(options, "vicreg");

  const auto x = detail::at_least_float(z1);
  const auto y = detail::at_least_float(z2);
  const auto invariance = (x - y).pow(2).mean();
  const auto [variance_x, covariance_x] = regularizers(x - x.mean(0, /*keepdim=*/true), options.epsilon());
  const auto [variance_y, covariance_y] = regularizers(y - y.mean(0, /*keepdim=*/true), options.epsilon());
  return options.invariance_weight() * invariance +
         options.variance_weight() * (variance_x / 2 + variance_y / 2) +
         options.covariance_weight() * (covariance_x + covariance_y);
}

VICRegLossImpl::VICRegLossImpl(VICRegOptions options_) : options(options_) { reset(); }

void VICRegLossImpl::reset() { check_options(options, "VICRegLoss"); }

void VICRegLossImpl::pretty_print(std::ostream& stream) const {
  stream << "ssl::losses::VICRegLoss(invariance_weight=" << options.invariance_weight()
         << ", variance_weight=" << options.variance_weight() << ", covariance_weight=" << options.covariance_weight()
         << ", epsilon=" << options.epsilon() << ")";
}

at::Tensor VICRegLossImpl::forward(const at::Tensor& z1, const at::Tensor& z2) { return vicreg(z1, z2, options); }

}  // namespace ssl::losses
