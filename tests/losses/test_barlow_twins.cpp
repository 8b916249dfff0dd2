#include "errors.h"
#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace L = ssl::losses;
using ssl::testing::error_message;

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix to_matrix(const torch::Tensor& t) {
  const auto a = t.to(torch::kDouble).contiguous();
  Matrix m(a.size(0), std::vector<double>(a.size(1)));
  for (size_t i = 0; i < m.size(); ++i) {
    for (size_t j = 0; j < m[i].size(); ++j) m[i][j] = a[i][j].item<double>();
  }
  return m;
}

// Column-wise standardization with explicit sums: (x - mean) / sqrt(sum (x - mean)^2 / N + eps).
Matrix standardize_columns(Matrix z, double eps) {
  const size_t n = z.size(), d = z[0].size();
  for (size_t j = 0; j < d; ++j) {
    double mean = 0, square = 0;
    for (size_t i = 0; i < n; ++i) mean += z[i][j] / n;
    for (size_t i = 0; i < n; ++i) square += (z[i][j] - mean) * (z[i][j] - mean);
    for (size_t i = 0; i < n; ++i) z[i][j] = (z[i][j] - mean) / std::sqrt(square / n + eps);
  }
  return z;
}

// Independent float64 loop form of facebookresearch/barlowtwins BarlowTwins.forward (main.py): each branch through
// BatchNorm1d(affine=False) (biased variance, eps), c_ij = sum_n a[n][i] b[n][j] / N,
// loss = sum_i (1 - c_ii)^2 + lambda sum_{i != j} c_ij^2.
double reference_barlow_twins(const torch::Tensor& z1, const torch::Tensor& z2, double lambda, double eps) {
  const auto a = standardize_columns(to_matrix(z1), eps), b = standardize_columns(to_matrix(z2), eps);
  const size_t n = a.size(), d = a[0].size();
  double loss = 0;
  for (size_t i = 0; i < d; ++i) {
    for (size_t j = 0; j < d; ++j) {
      double c = 0;
      for (size_t k = 0; k < n; ++k) c += a[k][i] * b[k][j] / n;
      loss += i == j ? (1 - c) * (1 - c) : lambda * c * c;
    }
  }
  return loss;
}

}  // namespace

TEST_CASE("barlow_twins of a rank-one example equals its closed form", "[losses][barlow_twins]") {
  // Both columns of z1 = [[1, 2], [-1, 0]] have batch variance 1 around means (0, 1), so z1n = s [[1, 1], [-1, -1]]
  // with s = 1 / sqrt(1 + 1e-5); z2 = [[1, -1], [-1, 1]] gives z2n = s [[1, -1], [-1, 1]]. Then
  // c = z1n^T z2n / 2 = s^2 [[1, -1], [1, -1]] and loss = (1 - s^2)^2 + (1 + s^2)^2 + lambda (s^4 + s^4).
  const auto z1 = torch::tensor({{1.0, 2.0}, {-1.0, 0.0}}, torch::kDouble);
  const auto z2 = torch::tensor({{1.0, -1.0}, {-1.0, 1.0}}, torch::kDouble);
  const double s2 = 1 / (1 + 1e-5), lambda = 0.0051;
  const double expected = (1 - s2) * (1 - s2) + (1 + s2) * (1 + s2) + lambda * 2 * s2 * s2;
  CHECK(L::barlow_twins(z1, z2).item<double>() == Approx(expected).epsilon(1e-12));
  // lambda = 0 leaves the invariance term only.
  const auto invariance = L::barlow_twins(z1, z2, L::BarlowTwinsOptions().off_diagonal_weight(0));
  CHECK(invariance.item<double>() == Approx((1 - s2) * (1 - s2) + (1 + s2) * (1 + s2)).epsilon(1e-12));
}

TEST_CASE("barlow_twins matches an independent loop implementation of the official code", "[losses][barlow_twins]") {
  // Reference: reference_barlow_twins above (explicit loops, float64). Tolerance 1e-10 relative: the two float64
  // evaluations differ by summation order only (~1e-15 relative per sum over a few dozen terms).
  torch::manual_seed(4);
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{2, 3}, {3, 3}, {7, 5}}) {
    INFO("N=" << n << " D=" << d);
    const auto z1 = torch::randn({n, d}, torch::kDouble) * 2 + 1;
    const auto z2 = torch::randn({n, d}, torch::kDouble);
    const auto options = L::BarlowTwinsOptions().off_diagonal_weight(0.3).epsilon(1e-3);
    CHECK(L::barlow_twins(z1, z2, options).item<double>() ==
          Approx(reference_barlow_twins(z1, z2, 0.3, 1e-3)).epsilon(1e-10));
    // float32 inputs agree to float32 precision; the module forwards to the same function.
    CHECK(L::barlow_twins(z1.to(torch::kFloat), z2.to(torch::kFloat), options).item<double>() ==
          Approx(reference_barlow_twins(z1, z2, 0.3, 1e-3)).epsilon(1e-5));
    L::BarlowTwinsLoss module(options);
    CHECK(module(z1, z2).item<double>() == L::barlow_twins(z1, z2, options).item<double>());
  }
}

TEST_CASE("barlow_twins gradient matches float64 central differences", "[losses][barlow_twins][gradcheck]") {
  torch::manual_seed(5);
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{2, 3}, {4, 2}, {5, 4}}) {
    INFO("N=" << n << " D=" << d);
    const auto z1 = torch::randn({n, d}, torch::kDouble);
    const auto z2 = torch::randn({n, d}, torch::kDouble);
    const auto options = L::BarlowTwinsOptions().off_diagonal_weight(0.5);
    CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& x) { return L::barlow_twins(x, z2, options); },
                                           z1) <= 1e-4);
    CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& x) { return L::barlow_twins(z1, x, options); },
                                           z2) <= 1e-4);
  }
}

TEST_CASE("barlow_twins rejects bad inputs and options with the offending values", "[losses][barlow_twins][errors]") {
  const auto a = torch::randn({4, 8});
  CHECK(error_message([&] { L::barlow_twins(a, torch::randn({4, 7})); }) ==
        "barlow_twins: z1 and z2 must have the same shape, got [4, 8] and [4, 7]");
  CHECK(error_message([&] { L::barlow_twins(torch::randn({1, 8}), torch::randn({1, 8})); }) ==
        "barlow_twins needs at least 2 rows in z1 (batch statistics), got shape [1, 8]");
  CHECK(error_message([&] { L::barlow_twins(a, a, L::BarlowTwinsOptions().off_diagonal_weight(-1)); }) ==
        "barlow_twins: off_diagonal_weight must be finite and >= 0, got -1");
  CHECK(error_message([&] { L::BarlowTwinsLoss(L::BarlowTwinsOptions().epsilon(0)); }) ==
        "BarlowTwinsLoss: epsilon must be > 0, got 0");
  CHECK(error_message([&] { L::barlow_twins(torch::randn({8}), torch::randn({8})); }) ==
        "barlow_twins: z1 must have 2 dimensions, got shape [8]");
  std::ostringstream printed;
  printed << *L::BarlowTwinsLoss();
  CHECK(printed.str() == "ssl::losses::BarlowTwinsLoss(off_diagonal_weight=0.0051, epsilon=1e-05)");
}
