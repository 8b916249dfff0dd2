#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <cmath>

namespace L = ssl::losses;

namespace {
const auto kLogModelData = [] { return torch::tensor({-1.0, -2.0}, torch::kDouble); };
const auto kLogModelNoise = [] { return torch::tensor({{-3.0, -0.5, -2.0}, {-1.0, -4.0, -2.5}}, torch::kDouble); };
}  // namespace

TEST_CASE("nce matches the Gutmann-Hyvarinen formula", "[losses][nce]") {
  // Reference: -(F.logsigmoid(lmd - (log K + lnd)) + F.logsigmoid(-(lmn - (log K + lnn))).sum(1)), K = 3,
  // lmd = [-1, -2], lmn = [[-3, -0.5, -2], [-1, -4, -2.5]], PyTorch 1.13 float64; uniform noise over 10 items
  // (lnd = lnn = -log 10) gives [2.228070922227490, 2.269808036238580], lnn = [[-1, -2, -3]] (broadcast
  // over the batch) gives [2.199378610407077, 1.938147019395512].
  const auto uniform = torch::tensor(-std::log(10.0), torch::kDouble);
  const auto per_sample =
      L::nce(kLogModelData(), kLogModelNoise(), uniform, uniform, L::NCEOptions().reduction(L::Reduction::None));
  REQUIRE(per_sample.sizes() == torch::IntArrayRef{2});
  CHECK(per_sample[0].item<double>() == Approx(2.228070922227490).epsilon(1e-12));
  CHECK(per_sample[1].item<double>() == Approx(2.269808036238580).epsilon(1e-12));
  CHECK(L::nce(kLogModelData(), kLogModelNoise(), uniform, uniform).item<double>() ==
        Approx((2.228070922227490 + 2.269808036238580) / 2).epsilon(1e-12));
  const auto row = torch::tensor({{-1.0, -2.0, -3.0}}, torch::kDouble);
  L::NCELoss module(L::NCEOptions().reduction(L::Reduction::Sum));
  CHECK(module(kLogModelData(), kLogModelNoise(), uniform, row).item<double>() ==
        Approx(2.199378610407077 + 1.938147019395512).epsilon(1e-12));
}

TEST_CASE("nce is minimal when the model equals the noise-corrected truth", "[losses][nce]") {
  // With Delta = 0 for every sample (model = K * noise) each term is log 2: the loss is (K + 1) log 2.
  const auto log_noise = torch::full({2, 4}, std::log(0.1), torch::kDouble);
  const auto log_model = log_noise + std::log(4.0);
  const auto loss = L::nce(log_model.select(1, 0), log_model, log_noise.select(1, 0), log_noise);
  CHECK(loss.item<double>() == Approx(5 * std::log(2.0)).epsilon(1e-12));
}

TEST_CASE("nce gradient matches float64 central differences", "[losses][nce][gradcheck]") {
  torch::manual_seed(4);
  for (const auto& [n, k] : {std::pair<int64_t, int64_t>{1, 1}, {3, 4}, {6, 2}}) {
    INFO("N=" << n << " K=" << k);
    const auto noise = torch::randn({n, k}, torch::kDouble) - 3;
    const auto data = torch::randn({n}, torch::kDouble);
    const auto log_noise = torch::randn({n, k}, torch::kDouble) - 2;
    const auto uniform = torch::tensor(-std::log(50.0), torch::kDouble);
    CHECK(ssl::testing::max_gradient_error(
              [&](const torch::Tensor& x) { return L::nce(x, noise, uniform, log_noise); }, data) <= 1e-4);
    CHECK(ssl::testing::max_gradient_error(
              [&](const torch::Tensor& x) { return L::nce(data, x, uniform, log_noise); }, noise) <= 1e-4);
  }
}

TEST_CASE("nce stays finite for extreme log-probabilities", "[losses][nce]") {
  const auto data = torch::tensor({1e4f, -1e4f}).requires_grad_();
  const auto noise = torch::tensor({{1e4f, -1e4f}, {-1e4f, 1e4f}}).requires_grad_();
  const auto loss = L::nce(data, noise, torch::tensor(-30.0f), torch::tensor(-30.0f));
  loss.backward();
  CHECK(std::isfinite(loss.item<double>()));
  CHECK(torch::isfinite(data.grad()).all().item<bool>());
  CHECK(torch::isfinite(noise.grad()).all().item<bool>());
}

TEST_CASE("nce rejects bad inputs with the offending values", "[losses][nce][errors]") {
  const auto u = torch::tensor(-2.0);
  CHECK_THROWS_WITH(L::nce(torch::randn({3}), torch::randn({2, 4}), u, u),
                    Catch::Contains("log_model_noise must be [N, K] with N = 3 and K >= 1 to match log_model_data of "
                                    "shape [3], got [2, 4]"));
  CHECK_THROWS_WITH(L::nce(torch::randn({3}), torch::randn({3, 0}), u, u), Catch::Contains("got [3, 0]"));
  CHECK_THROWS_WITH(L::nce(torch::randn({3}), torch::randn({3, 4}), torch::randn({2}), u),
                    Catch::Contains("log_noise_data of shape [2] does not broadcast to [3]"));
  CHECK_THROWS_WITH(L::nce(torch::randn({3}), torch::randn({3, 4}), u, torch::randn({3, 5})),
                    Catch::Contains("log_noise_noise of shape [3, 5] does not broadcast to [3, 4]"));
  CHECK_THROWS_WITH(L::nce(torch::empty({0}), torch::empty({0, 4}), u, u), Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(L::nce(torch::ones({3}, torch::kLong), torch::randn({3, 4}), u, u),
                    Catch::Contains("log_model_data must be a floating-point tensor"));
  CHECK_THROWS_WITH(L::nce(torch::randn({3}), torch::randn({3, 4}), torch::tensor(1), u),
                    Catch::Contains("log_noise_data must be a floating-point tensor"));
  CHECK_THROWS_WITH(L::nce(torch::randn({3, 1}), torch::randn({3, 4}), u, u), Catch::Contains("must have 1 dimensions"));
}
