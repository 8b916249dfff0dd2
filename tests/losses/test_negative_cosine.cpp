#include "errors.h"
#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <cmath>

namespace L = ssl::losses;
using ssl::testing::error_message;

TEST_CASE("negative_cosine is minus the mean cosine of each pair", "[losses][negative_cosine]") {
  // p = [[1, 0], [1, 1], [3, 4]], z = [[0, 2], [1, 0], [-6, -8]]: cosines 0, 1/sqrt(2), -1, so the mean is
  // -(0 + 1/sqrt(2) - 1) / 3 (SimSiam's D = -F.cosine_similarity(p, z.detach()).mean()).
  const auto p = torch::tensor({{1.0, 0.0}, {1.0, 1.0}, {3.0, 4.0}}, torch::kDouble);
  const auto z = torch::tensor({{0.0, 2.0}, {1.0, 0.0}, {-6.0, -8.0}}, torch::kDouble);
  const double mean = -(0 + 1 / std::sqrt(2.0) - 1) / 3;
  CHECK(L::negative_cosine(p, z).item<double>() == Approx(mean).epsilon(1e-12));
  const auto none = L::negative_cosine(p, z, L::NegativeCosineOptions().reduction(L::Reduction::None));
  REQUIRE(none.sizes() == torch::IntArrayRef{3});
  CHECK(none[0].item<double>() == Approx(0.0).margin(1e-15));
  CHECK(none[1].item<double>() == Approx(-1 / std::sqrt(2.0)).epsilon(1e-12));
  CHECK(none[2].item<double>() == Approx(1.0).epsilon(1e-12));
  // BYOL's ||normalize(p) - normalize(z)||^2 summed over dimensions is 2 + 2 * this, per pair.
  const auto byol = (p / p.norm(2, 1, true) - z / z.norm(2, 1, true)).pow(2).sum(1);
  CHECK(torch::allclose(byol, 2 + 2 * none, 1e-12, 1e-12));
  L::NegativeCosineLoss module(L::NegativeCosineOptions().reduction(L::Reduction::Sum));
  CHECK(module(p, z).item<double>() == Approx(3 * mean).epsilon(1e-12));
}

TEST_CASE("negative_cosine never sends a gradient to the target", "[losses][negative_cosine]") {
  torch::manual_seed(8);
  const auto p = torch::randn({4, 3}).requires_grad_();
  const auto z = torch::randn({4, 3}).requires_grad_();
  L::negative_cosine(p, z).backward();
  CHECK(p.grad().defined());
  CHECK_FALSE(z.grad().defined());
}

TEST_CASE("negative_cosine gradient matches float64 central differences", "[losses][negative_cosine][gradcheck]") {
  torch::manual_seed(9);
  for (const auto& [n, d] : {std::pair<int64_t, int64_t>{1, 3}, {3, 4}, {5, 2}}) {
    INFO("N=" << n << " D=" << d);
    const auto z = torch::randn({n, d}, torch::kDouble);
    CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& p) { return L::negative_cosine(p, z); },
                                           torch::randn({n, d}, torch::kDouble)) <= 1e-4);
  }
}

TEST_CASE("negative_cosine rejects bad inputs with the offending values", "[losses][negative_cosine][errors]") {
  CHECK(error_message([] { L::negative_cosine(torch::randn({4, 8}), torch::randn({4, 7})); }) ==
        "negative_cosine: p and z must have the same shape, got [4, 8] and [4, 7]");
  CHECK(error_message([] { L::negative_cosine(torch::randn({4, 8}), torch::randn({4, 8}, torch::kDouble)); }) ==
        "negative_cosine: p and z must have the same dtype, got Float and Double");
  CHECK(error_message([] { L::negative_cosine(torch::empty({0, 8}), torch::empty({0, 8})); }) ==
        "negative_cosine: p is an empty batch (shape [0, 8])");
  CHECK(error_message([] { L::negative_cosine(torch::ones({2, 2}, torch::kLong), torch::ones({2, 2})); }) ==
        "negative_cosine: p must be a floating-point tensor, got Long");
  std::ostringstream printed;
  printed << *L::NegativeCosineLoss();
  CHECK(printed.str() == "ssl::losses::NegativeCosineLoss(reduction=mean)");
}
