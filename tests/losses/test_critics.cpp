#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

namespace L = ssl::losses;

TEST_CASE("the separable critic scores every pair with g(x) . h(y)", "[losses][critics]") {
  torch::manual_seed(9);
  L::SeparableCritic critic(L::CriticOptions(3, 5).hidden_dim(8).layers(2).embed_dim(4));
  const auto x = torch::randn({6, 3});
  const auto y = torch::randn({6, 5});
  const auto scores = critic(x, y);
  REQUIRE(scores.sizes() == torch::IntArrayRef{6, 6});
  CHECK(scores[2][4].item<double>() ==
        Approx(critic->g->forward(x[2]).dot(critic->h->forward(y[4])).item<double>()).epsilon(1e-5));
}

TEST_CASE("the concatenation critic scores pair (i, j) with MLP([x_i, y_j])", "[losses][critics]") {
  torch::manual_seed(10);
  L::ConcatCritic critic(L::CriticOptions(3, 2).hidden_dim(8).layers(1));
  const auto x = torch::randn({5, 3});
  const auto y = torch::randn({5, 2});
  const auto scores = critic(x, y);
  REQUIRE(scores.sizes() == torch::IntArrayRef{5, 5});
  for (const auto& [i, j] : {std::pair<int64_t, int64_t>{0, 0}, {1, 3}, {4, 2}}) {
    INFO("pair " << i << ", " << j);
    CHECK(scores[i][j].item<double>() ==
          Approx(critic->mlp->forward(torch::cat({x[i], y[j]}).unsqueeze(0)).item<double>()).epsilon(1e-5));
  }
}

TEST_CASE("MI bounds through both critics have correct float64 gradients", "[losses][critics][gradcheck]") {
  torch::manual_seed(11);
  for (int64_t n : {2, 4}) {
    INFO("N=" << n);
    L::SeparableCritic separable(L::CriticOptions(3, 2).hidden_dim(6).layers(1).embed_dim(3));
    L::ConcatCritic concat(L::CriticOptions(3, 2).hidden_dim(6).layers(2));
    separable->to(torch::kDouble);
    concat->to(torch::kDouble);
    const auto y = torch::randn({n, 2}, torch::kDouble);
    const auto x = torch::randn({n, 3}, torch::kDouble);
    CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& v) { return L::mi_infonce(separable(v, y)); }, x) <=
          1e-4);
    CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& v) { return L::mi_nwj(concat(v, y)); }, x) <= 1e-4);
  }
}

TEST_CASE("critics reject mismatched inputs and options", "[losses][critics][errors]") {
  L::SeparableCritic critic(L::CriticOptions(3, 5).hidden_dim(8));
  CHECK_THROWS_WITH(critic(torch::randn({4, 3}), torch::randn({4, 6})),
                    Catch::Contains("SeparableCritic: expected x [N, 3] and y [N, 5], got shapes [4, 3] and [4, 6]"));
  L::ConcatCritic concat(L::CriticOptions(3, 5).hidden_dim(8));
  CHECK_THROWS_WITH(concat(torch::randn({4, 3}), torch::randn({3, 5})),
                    Catch::Contains("got shapes [4, 3] and [3, 5]"));
  CHECK_THROWS_WITH(concat(torch::empty({0, 3}), torch::empty({0, 5})), Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(L::ConcatCritic(L::CriticOptions(0, 5)), Catch::Contains("x_dim and y_dim must be > 0, got 0 and 5"));
  CHECK_THROWS_WITH(L::SeparableCritic(L::CriticOptions(2, 5).layers(0)), Catch::Contains("got 256, 0 and 32"));
}
