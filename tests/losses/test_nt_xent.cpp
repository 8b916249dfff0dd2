#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <cmath>

namespace L = ssl::losses;

TEST_CASE("nt_xent of identical orthogonal views equals log(e + 2) - 1", "[losses][nt_xent]") {
  // z = [e1, e2, e1, e2], tau = 1: each anchor has positive similarity 1 and two negatives of similarity 0,
  // so l_k = -1 + log(e^1 + e^0 + e^0) for all four anchors.
  auto z = torch::eye(2, torch::kDouble);
  auto loss = L::nt_xent(z, z, L::NTXentOptions().temperature(1.0));
  CHECK(loss.item<double>() == Approx(std::log(std::exp(1.0) + 2.0) - 1.0).epsilon(1e-12));
}

TEST_CASE("nt_xent matches the SimCLR formula on an asymmetric example", "[losses][nt_xent]") {
  // Reference: numpy evaluation of l_k = -s(k,pos)/tau + log sum_{j!=k} exp(s(k,j)/tau) with cosine s,
  // z1 = [[1,0],[1,1]], z2 = [[0,1],[1,-1]], tau = 0.5 -> per anchor [2.22207986044, 2.22207986044,
  // 1.67828596790, 1.67828596790], mean 1.95018291417.
  auto z1 = torch::tensor({{1.0, 0.0}, {1.0, 1.0}}, torch::kDouble);
  auto z2 = torch::tensor({{0.0, 1.0}, {1.0, -1.0}}, torch::kDouble);
  auto per_anchor = L::nt_xent(z1, z2, L::NTXentOptions().temperature(0.5).reduction(L::Reduction::None));
  REQUIRE(per_anchor.sizes() == torch::IntArrayRef{4});
  const double expected[] = {2.222079860442001, 2.222079860442001, 1.678285967902918, 1.678285967902918};
  for (int k = 0; k < 4; ++k) CHECK(per_anchor[k].item<double>() == Approx(expected[k]).epsilon(1e-12));
  CHECK(L::nt_xent(z1, z2, L::NTXentOptions().temperature(0.5)).item<double>() ==
        Approx(1.9501829141724594).epsilon(1e-12));
  CHECK(L::nt_xent(z1, z2, L::NTXentOptions().temperature(0.5).reduction(L::Reduction::Sum)).item<double>() ==
        Approx(4 * 1.9501829141724594).epsilon(1e-12));
}

TEST_CASE("nt_xent gradient matches float64 central differences", "[losses][nt_xent][gradcheck]") {
  torch::manual_seed(1);
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{1, 3}, {3, 4}, {5, 2}}) {
    auto z2 = torch::randn({n, d}, torch::kDouble);
    auto error = ssl::testing::max_gradient_error(
        [&](const torch::Tensor& z1) { return L::nt_xent(z1, z2, L::NTXentOptions().temperature(0.3)); },
        torch::randn({n, d}, torch::kDouble));
    INFO("N=" << n << " D=" << d);
    CHECK(error <= 1e-4);
  }
}

TEST_CASE("nt_xent stays finite for huge norms, tiny temperature and a single pair", "[losses][nt_xent]") {
  auto z1 = torch::randn({8, 16}) * 1e3;
  auto z2 = torch::randn({8, 16}) * 1e3;
  auto loss = L::nt_xent(z1.requires_grad_(), z2, L::NTXentOptions().temperature(0.01));
  loss.backward();
  CHECK(std::isfinite(loss.item<double>()));
  CHECK(torch::isfinite(z1.grad()).all().item<bool>());
  // One pair: its only other sample is the positive, so the loss is exactly 0.
  auto one = L::nt_xent(torch::randn({1, 4}), torch::randn({1, 4}));
  CHECK(one.item<double>() == Approx(0.0).margin(1e-6));
}

TEST_CASE("nt_xent rejects bad inputs with the offending values", "[losses][nt_xent][errors]") {
  auto a = torch::randn({4, 8});
  CHECK_THROWS_WITH(L::nt_xent(a, torch::randn({4, 7})),
                    Catch::Contains("z1 and z2 must have the same shape, got [4, 8] and [4, 7]"));
  CHECK_THROWS_WITH(L::nt_xent(a, a, L::NTXentOptions().temperature(0)),
                    Catch::Contains("temperature must be > 0, got 0"));
  CHECK_THROWS_WITH(L::nt_xent(torch::empty({0, 8}), torch::empty({0, 8})), Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(L::nt_xent(torch::ones({4, 8}, torch::kLong), torch::ones({4, 8}, torch::kLong)),
                    Catch::Contains("must be a floating-point tensor"));
  CHECK_THROWS_WITH(L::nt_xent(torch::randn({8}), torch::randn({8})), Catch::Contains("must have 2 dimensions"));
}

TEST_CASE("multi_view_nt_xent matches solo-learn's simclr_loss_func on three views", "[losses][nt_xent]") {
  // Reference: PyTorch float64 evaluation of solo-learn's simclr_loss_func, -log(pos / (pos + neg)) with
  // pos = sum of exp(s/tau) over the other views of the image and neg over the other images' rows, for the
  // views below, tau = 0.5 -> per anchor [0.78940332995485, 2.37276371951379, 1.08991048957005,
  // 1.86020265982941, 0.71794259622415, 1.66351900722436], mean 1.41562363371943.
  const std::vector<torch::Tensor> views = {torch::tensor({{1.0, 0.0}, {1.0, 1.0}}, torch::kDouble),
                                            torch::tensor({{0.0, 1.0}, {1.0, -1.0}}, torch::kDouble),
                                            torch::tensor({{2.0, 1.0}, {-1.0, 0.5}}, torch::kDouble)};
  const auto options = L::NTXentOptions().temperature(0.5);
  auto per_anchor = L::multi_view_nt_xent(views, L::NTXentOptions(options).reduction(L::Reduction::None));
  REQUIRE(per_anchor.sizes() == torch::IntArrayRef{6});
  const double expected[] = {0.7894033299548548, 2.3727637195137876, 1.08991048957005,
                             1.8602026598294052, 0.7179425962241462, 1.663519007224363};
  for (int k = 0; k < 6; ++k) CHECK(per_anchor[k].item<double>() == Approx(expected[k]).epsilon(1e-12));
  CHECK(L::multi_view_nt_xent(views, options).item<double>() == Approx(1.4156236337194343).epsilon(1e-12));
}

TEST_CASE("multi_view_nt_xent of two views is nt_xent", "[losses][nt_xent]") {
  torch::manual_seed(2);
  auto z1 = torch::randn({6, 5}, torch::kDouble), z2 = torch::randn({6, 5}, torch::kDouble);
  const auto options = L::NTXentOptions().temperature(0.2).reduction(L::Reduction::None);
  // Measured 0 (the same float64 operations); the bound leaves room for another summation order only.
  CHECK(torch::allclose(L::multi_view_nt_xent({z1, z2}, options), L::nt_xent(z1, z2, options), 0.0, 1e-14));
}

TEST_CASE("multi_view_nt_xent gradient matches float64 central differences", "[losses][nt_xent][gradcheck]") {
  torch::manual_seed(3);
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{1, 3}, {3, 4}}) {
    auto z2 = torch::randn({n, d}, torch::kDouble), z3 = torch::randn({n, d}, torch::kDouble);
    auto error = ssl::testing::max_gradient_error(
        [&](const torch::Tensor& z1) {
          return L::multi_view_nt_xent({z1, z2, z3}, L::NTXentOptions().temperature(0.3));
        },
        torch::randn({n, d}, torch::kDouble));
    INFO("N=" << n << " D=" << d);
    CHECK(error <= 1e-4);  // measured 0 and 4.7e-8 (2026-12-04); the bound of nt_xent's gradcheck above
  }
}

TEST_CASE("multi_view_nt_xent rejects bad inputs with the offending values", "[losses][nt_xent][errors]") {
  auto a = torch::randn({4, 8});
  CHECK_THROWS_WITH(L::multi_view_nt_xent({a}), Catch::Contains("needs at least 2 views, got 1"));
  CHECK_THROWS_WITH(L::multi_view_nt_xent({a, a, torch::randn({3, 8})}),
                    Catch::Contains("views[2] and views[0] must have the same shape, got [3, 8] and [4, 8]"));
  CHECK_THROWS_WITH(L::multi_view_nt_xent({a, a}, L::NTXentOptions().temperature(-1)),
                    Catch::Contains("temperature must be > 0, got -1"));
}
