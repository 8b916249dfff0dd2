#include "errors.h"
#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <algorithm>
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

// One branch's variance and covariance terms by explicit loops: with u the column-centred matrix,
// std_j = sqrt(sum_n u_nj^2 / (N - 1) + eps), variance = sum_j max(0, 1 - std_j) / D,
// covariance = sum_{i != j} (sum_n u_ni u_nj / (N - 1))^2 / D.
std::pair<double, double> reference_branch(Matrix u, double eps) {
  const size_t n = u.size(), d = u[0].size();
  for (size_t j = 0; j < d; ++j) {
    double mean = 0;
    for (size_t k = 0; k < n; ++k) mean += u[k][j] / n;
    for (size_t k = 0; k < n; ++k) u[k][j] -= mean;
  }
  double variance = 0, covariance = 0;
  for (size_t i = 0; i < d; ++i) {
    for (size_t j = 0; j < d; ++j) {
      double c = 0;
      for (size_t k = 0; k < n; ++k) c += u[k][i] * u[k][j] / (n - 1.0);
      if (i == j) variance += std::max(0.0, 1 - std::sqrt(c + eps)) / d;
      if (i != j) covariance += c * c / d;
    }
  }
  return {variance, covariance};
}

// Independent float64 loop form of facebookresearch/vicreg VICReg.forward (main_vicreg.py, Algorithm 1 of the paper):
// 25 * mse + 25 * (variance_x / 2 + variance_y / 2) + 1 * (covariance_x + covariance_y), weights as given.
double reference_vicreg(const torch::Tensor& z1, const torch::Tensor& z2, double sim, double var, double cov,
                        double eps) {
  const auto x = to_matrix(z1), y = to_matrix(z2);
  double mse = 0;
  for (size_t k = 0; k < x.size(); ++k) {
    for (size_t j = 0; j < x[k].size(); ++j) mse += (x[k][j] - y[k][j]) * (x[k][j] - y[k][j]) / (x.size() * x[k].size());
  }
  const auto [variance_x, covariance_x] = reference_branch(x, eps);
  const auto [variance_y, covariance_y] = reference_branch(y, eps);
  return sim * mse + var * (variance_x / 2 + variance_y / 2) + cov * (covariance_x + covariance_y);
}

}  // namespace

TEST_CASE("vicreg of a two-sample example equals its closed form", "[losses][vicreg]") {
  // x = [[1, 1], [-1, -1]], y = [[0.5, 0], [-0.5, 0]], eps = 1e-4, N - 1 = 1:
  //   invariance = (0.25 + 1 + 0.25 + 1) / 4 = 0.625;
  //   std_x = sqrt(2 + eps) per column (> 1, no hinge); std_y = (sqrt(0.5 + eps), sqrt(eps) = 0.01), so
  //   variance = 0 / 2 + ((1 - sqrt(0.5001)) + 0.99) / 2 / 2;
  //   cov_x = [[2, 2], [2, 2]]: (2^2 + 2^2) / D = 4; cov_y = [[0.5, 0], [0, 0]]: 0.
  const auto x = torch::tensor({{1.0, 1.0}, {-1.0, -1.0}}, torch::kDouble);
  const auto y = torch::tensor({{0.5, 0.0}, {-0.5, 0.0}}, torch::kDouble);
  const double variance = ((1 - std::sqrt(0.5001)) + 0.99) / 4;
  CHECK(L::vicreg(x, y).item<double>() == Approx(25 * 0.625 + 25 * variance + 4).epsilon(1e-12));
  // Each weight scales its own term only.
  const auto terms = [&](double sim, double var, double cov) {
    return L::vicreg(x, y, L::VICRegOptions().invariance_weight(sim).variance_weight(var).covariance_weight(cov))
        .item<double>();
  };
  CHECK(terms(1, 0, 0) == Approx(0.625).epsilon(1e-12));
  CHECK(terms(0, 1, 0) == Approx(variance).epsilon(1e-12));
  CHECK(terms(0, 0, 1) == Approx(4.0).epsilon(1e-12));
}

TEST_CASE("vicreg matches an independent loop implementation of the official code", "[losses][vicreg]") {
  // Reference: reference_vicreg above (explicit loops, float64); tolerance 1e-10 relative (summation order only).
  // Scales 0.5 and 3 put the std hinge on both sides of 1.
  torch::manual_seed(6);
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{2, 3}, {5, 4}, {9, 6}}) {
    for (double scale : {0.5, 3.0}) {
      INFO("N=" << n << " D=" << d << " scale " << scale);
      const auto z1 = torch::randn({n, d}, torch::kDouble) * scale;
      const auto z2 = z1 + torch::randn({n, d}, torch::kDouble) * 0.3;
      const auto options = L::VICRegOptions().invariance_weight(2).variance_weight(3).covariance_weight(5).epsilon(1e-2);
      const double expected = reference_vicreg(z1, z2, 2, 3, 5, 1e-2);
      CHECK(L::vicreg(z1, z2, options).item<double>() == Approx(expected).epsilon(1e-10));
      CHECK(L::vicreg(z1.to(torch::kFloat), z2.to(torch::kFloat), options).item<double>() ==
            Approx(expected).epsilon(1e-5));
      L::VICRegLoss module(options);
      CHECK(module(z1, z2).item<double>() == L::vicreg(z1, z2, options).item<double>());
    }
  }
}

TEST_CASE("vicreg gradient matches float64 central differences", "[losses][vicreg][gradcheck]") {
  torch::manual_seed(7);
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{2, 3}, {4, 2}, {5, 4}}) {
    INFO("N=" << n << " D=" << d);
    const auto z1 = torch::randn({n, d}, torch::kDouble) * 0.5;  // std < 1: the hinge is active
    const auto z2 = torch::randn({n, d}, torch::kDouble) * 0.5;
    CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& x) { return L::vicreg(x, z2); }, z1) <= 1e-4);
    CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& x) { return L::vicreg(z1, x); }, z2) <= 1e-4);
  }
}

TEST_CASE("vicreg rejects bad inputs and options with the offending values", "[losses][vicreg][errors]") {
  const auto a = torch::randn({4, 8});
  CHECK(error_message([&] { L::vicreg(a, torch::randn({5, 8})); }) ==
        "vicreg: z1 and z2 must have the same shape, got [4, 8] and [5, 8]");
  CHECK(error_message([&] { L::vicreg(torch::randn({1, 3}), torch::randn({1, 3})); }) ==
        "vicreg needs at least 2 rows in z1 (batch statistics), got shape [1, 3]");
  CHECK(error_message([&] { L::vicreg(a, a, L::VICRegOptions().covariance_weight(-1)); }) ==
        "vicreg: covariance_weight must be finite and >= 0, got -1");
  CHECK(error_message([&] { L::vicreg(a, a, L::VICRegOptions().invariance_weight(NAN)); }) ==
        "vicreg: invariance_weight must be finite and >= 0, got nan");
  CHECK(error_message([&] { L::VICRegLoss(L::VICRegOptions().epsilon(0)); }) ==
        "VICRegLoss: epsilon must be > 0, got 0");
  CHECK(error_message([&] { L::vicreg(a, a.to(torch::kDouble)); }) ==
        "vicreg: z1 and z2 must have the same dtype, got Float and Double");
  std::ostringstream printed;
  printed << *L::VICRegLoss();
  CHECK(printed.str() ==
        "ssl::losses::VICRegLoss(invariance_weight=25, variance_weight=25, covariance_weight=1, epsilon=0.0001)");
}
