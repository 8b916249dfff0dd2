#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <cmath>

namespace L = ssl::losses;

namespace {

// Shared fixture of the reference cases: N = 3 queries and keys in 2-d.
const auto kQuery = [] { return torch::tensor({{1.0, 0.0}, {1.0, 1.0}, {0.0, 2.0}}, torch::kDouble); };
const auto kKey = [] { return torch::tensor({{1.0, 1.0}, {0.0, 1.0}, {1.0, -1.0}}, torch::kDouble); };

void check_values(const torch::Tensor& actual, const std::vector<double>& expected, double epsilon = 1e-12) {
  REQUIRE(actual.numel() == static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("element " << i);
    CHECK(actual[i].item<double>() == Approx(expected[i]).epsilon(epsilon));
  }
}

}  // namespace

TEST_CASE("info_nce with in-batch negatives matches PyTorch's cross entropy", "[losses][info_nce]") {
  // Reference: F.cross_entropy(F.normalize(q) @ F.normalize(k).T / 0.5, arange(3), reduction='none') (cosine)
  // and F.cross_entropy(q @ k.T / 2.0, arange(3), reduction='none') (dot), PyTorch 1.13, float64.
  const auto none = L::InfoNCEOptions().temperature(0.5).reduction(L::Reduction::None);
  check_values(L::info_nce(kQuery(), kKey(), none), {0.807866298068906, 1.111699583130854, 3.877677213223272});
  check_values(L::info_nce(kQuery(), kKey(), L::InfoNCEOptions(none).temperature(2.0).similarity(L::Similarity::Dot)),
               {0.958020087947034, 1.180269670641735, 2.758623675679513});
  const double mean = (0.807866298068906 + 1.111699583130854 + 3.877677213223272) / 3;
  CHECK(L::info_nce(kQuery(), kKey(), L::InfoNCEOptions().temperature(0.5)).item<double>() == Approx(mean).epsilon(1e-12));
  // float32 inputs give the same numbers to float32 precision.
  CHECK(L::info_nce(kQuery().to(torch::kFloat), kKey().to(torch::kFloat), L::InfoNCEOptions().temperature(0.5))
            .item<double>() == Approx(mean).epsilon(1e-6));
}

TEST_CASE("info_nce with explicit negatives uses the positive and those negatives only", "[losses][info_nce]") {
  // Reference (MoCo convention): logits = cat([(qn*kn).sum(1, keepdim=True), qn @ nn.T], 1) / 0.5 with
  // qn, kn, nn = F.normalize(...), then F.cross_entropy(logits, zeros(3), reduction='none'); for per-query
  // negatives the second block is einsum('nd,nmd->nm', qn, nn). PyTorch 1.13, float64.
  const auto none = L::InfoNCEOptions().temperature(0.5).reduction(L::Reduction::None);
  const auto shared = torch::tensor({{1.0, 2.0}, {-1.0, 0.0}}, torch::kDouble);
  check_values(L::info_nce(kQuery(), kKey(), shared, none), {0.487075718447220, 0.985922657389848, 3.391859269745836});
  const auto per_query = torch::tensor(
      {{{1.0, 2.0}, {-1.0, 0.0}}, {{0.0, -1.0}, {3.0, 1.0}}, {{2.0, 2.0}, {1.0, -3.0}}}, torch::kDouble);
  check_values(L::info_nce(kQuery(), kKey(), per_query, none),
               {0.487075718447220, 0.921705903595729, 2.919696665369220});
  // The module forwards to the same functions.
  L::InfoNCELoss module(L::InfoNCEOptions().temperature(0.5));
  CHECK(module(kQuery(), kKey(), shared).item<double>() ==
        Approx((0.487075718447220 + 0.985922657389848 + 3.391859269745836) / 3).epsilon(1e-12));
  CHECK(module(kQuery(), kKey()).item<double>() == L::info_nce(kQuery(), kKey(), module->options).item<double>());
}

TEST_CASE("info_nce gradient matches float64 central differences", "[losses][info_nce][gradcheck]") {
  torch::manual_seed(2);
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{1, 3}, {3, 4}, {5, 2}}) {
    INFO("N=" << n << " D=" << d);
    const auto key = torch::randn({n, d}, torch::kDouble);
    const auto shared = torch::randn({4, d}, torch::kDouble);
    const auto per_query = torch::randn({n, 3, d}, torch::kDouble);
    for (auto similarity : {L::Similarity::Cosine, L::Similarity::Dot}) {
      INFO("similarity " << L::to_string(similarity));
      const auto options = L::InfoNCEOptions().temperature(0.3).similarity(similarity);
      const auto q0 = torch::randn({n, d}, torch::kDouble);
      CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& q) { return L::info_nce(q, key, options); }, q0) <=
            1e-4);
      CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& k) { return L::info_nce(q0, k, options); }, key) <=
            1e-4);
      CHECK(ssl::testing::max_gradient_error(
                [&](const torch::Tensor& neg) { return L::info_nce(q0, key, neg, options); }, shared) <= 1e-4);
      CHECK(ssl::testing::max_gradient_error(
                [&](const torch::Tensor& q) { return L::info_nce(q, key, per_query, options); }, q0) <= 1e-4);
    }
  }
}

TEST_CASE("info_nce stays finite for huge norms, tiny temperature, identical views and one pair",
          "[losses][info_nce]") {
  torch::manual_seed(3);
  const auto q = (torch::randn({8, 16}) * 1e3).requires_grad_();
  const auto k = torch::randn({8, 16}) * 1e3;
  const auto loss = L::info_nce(q, k, torch::randn({5, 16}) * 1e3, L::InfoNCEOptions().temperature(0.01)) +
                    L::info_nce(q, k, L::InfoNCEOptions().temperature(0.01)) +
                    L::info_nce(q, q, L::InfoNCEOptions().temperature(0.01));
  loss.backward();
  CHECK(std::isfinite(loss.item<double>()));
  CHECK(torch::isfinite(q.grad()).all().item<bool>());
  // Identical, orthogonal views: each query's positive scores 1/tau = 100 against negatives at 0, so the loss
  // is log(1 + (N-1) e^{-100}) ~ 0.
  const auto e = torch::eye(4);
  CHECK(L::info_nce(e, e, L::InfoNCEOptions().temperature(0.01)).item<double>() == Approx(0.0).margin(1e-6));
  // One pair and no other key: the positive is the only candidate, the loss is exactly 0.
  CHECK(L::info_nce(torch::randn({1, 4}), torch::randn({1, 4})).item<double>() == Approx(0.0).margin(1e-6));
  // Dot similarity with huge logits stays finite too.
  const auto dot = L::info_nce(q, k, L::InfoNCEOptions().temperature(0.01).similarity(L::Similarity::Dot));
  CHECK(std::isfinite(dot.item<double>()));
}

TEST_CASE("info_nce rejects bad inputs with the offending values", "[losses][info_nce][errors]") {
  const auto a = torch::randn({4, 8});
  CHECK_THROWS_WITH(L::info_nce(a, torch::randn({4, 7})),
                    Catch::Contains("query and positive_key must have the same shape, got [4, 8] and [4, 7]"));
  CHECK_THROWS_WITH(L::info_nce(a, a, L::InfoNCEOptions().temperature(-0.5)),
                    Catch::Contains("temperature must be > 0, got -0.5"));
  CHECK_THROWS_WITH(L::info_nce(torch::empty({0, 8}), torch::empty({0, 8})), Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(L::info_nce(torch::ones({4, 8}, torch::kInt), torch::ones({4, 8}, torch::kInt)),
                    Catch::Contains("must be a floating-point tensor"));
  CHECK_THROWS_WITH(L::info_nce(a, a, torch::randn({3, 7})),
                    Catch::Contains("negative_keys of shape [3, 7] does not match query of shape [4, 8]"));
  CHECK_THROWS_WITH(L::info_nce(a, a, torch::randn({5, 3, 8})),
                    Catch::Contains("negative_keys of shape [5, 3, 8] does not match query of shape [4, 8]"));
  CHECK_THROWS_WITH(L::info_nce(a, a, torch::randn({8})), Catch::Contains("must be [M, D] (shared) or [N, M, D]"));
  CHECK_THROWS_WITH(L::info_nce(a, a, torch::randn({0, 8})), Catch::Contains("holds no negatives"));
  CHECK_THROWS_WITH(L::info_nce(a, a, torch::randn({3, 8}, torch::kDouble)),
                    Catch::Contains("must have the same dtype, got Float and Double"));
  CHECK_THROWS_WITH(L::InfoNCELoss(L::InfoNCEOptions().temperature(0)), Catch::Contains("temperature must be > 0, got 0"));
  CHECK_THROWS_WITH(L::parse_similarity("cos"), Catch::Contains("expected one of cosine, dot"));
}
