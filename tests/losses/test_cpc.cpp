#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <cmath>

namespace L = ssl::losses;

TEST_CASE("CPC scores each step's predictions against all targets of that step", "[losses][cpc]") {
  // Reference: for k = 1..K, logits = (W_k c[:, :T-k]).reshape(-1, D) @ z[:, k:].reshape(-1, D).T and
  // loss_k = F.cross_entropy(logits, arange(rows)), evaluated here with torch's own cross_entropy.
  torch::manual_seed(12);
  L::CPC cpc(L::CPCOptions(4).context_dim(5).steps(2));
  cpc->to(torch::kDouble);
  const auto z = torch::randn({3, 6, 4}, torch::kDouble);
  const auto out = cpc(z);
  REQUIRE(out.step_losses.sizes() == torch::IntArrayRef{2});
  REQUIRE(out.accuracy.sizes() == torch::IntArrayRef{2});
  const auto c = std::get<0>(cpc->context->forward(z));
  for (int64_t k = 1; k <= 2; ++k) {
    INFO("k=" << k);
    const auto predicted = cpc->predictors[k - 1]->as<torch::nn::Linear>()->forward(c.narrow(1, 0, 6 - k)).reshape({-1, 4});
    const auto logits = predicted.matmul(z.narrow(1, k, 6 - k).reshape({-1, 4}).t());
    const auto target = torch::arange(logits.size(0));
    CHECK(out.step_losses[k - 1].item<double>() ==
          Approx(torch::nn::functional::cross_entropy(logits, target).item<double>()).epsilon(1e-12));
    CHECK(out.accuracy[k - 1].item<double>() ==
          Approx(logits.argmax(1).eq(target).to(torch::kDouble).mean().item<double>()).epsilon(1e-12));
  }
  CHECK(out.loss.item<double>() == Approx(out.step_losses.mean().item<double>()).epsilon(1e-12));
}

TEST_CASE("CPC on a patch grid runs down each column of patches", "[losses][cpc]") {
  torch::manual_seed(13);
  L::CPC cpc(L::CPCOptions(3).context_dim(4).steps(2));
  const auto grid = torch::randn({2, 3, 4, 4});  // [B, D, G rows, G cols]
  // Column j of image b is the sequence grid[b, :, :, j]^T, i.e. [rows, D].
  const auto columns = grid.permute({0, 3, 2, 1}).reshape({8, 4, 3});
  const auto a = cpc(grid);
  const auto b = cpc(columns);
  CHECK(a.loss.item<double>() == Approx(b.loss.item<double>()).epsilon(1e-6));
  CHECK(torch::allclose(a.accuracy, b.accuracy));
}

TEST_CASE("CPC learns to predict a predictable sequence", "[losses][cpc]") {
  // z_t = R^t z_0 with a fixed rotation R and a random z_0 per sequence: the future is a linear function of
  // the past and every target is distinct, so accuracy must climb far above chance (1 / 24 for k = 1).
  torch::manual_seed(14);
  L::CPC cpc(L::CPCOptions(8).context_dim(32).steps(2));
  torch::optim::Adam adam(cpc->parameters(), torch::optim::AdamOptions(1e-2));
  const auto rotation = std::get<0>(torch::linalg_qr(torch::randn({8, 8})));
  std::vector<torch::Tensor> steps{torch::randn({6, 8}) * 2};
  for (int t = 1; t < 5; ++t) steps.push_back(steps.back().matmul(rotation));
  const auto z = torch::stack(steps, 1);  // [6, 5, 8]
  const double first = cpc(z).loss.item<double>();
  for (int step = 0; step < 150; ++step) {
    adam.zero_grad();
    cpc(z).loss.backward();
    adam.step();
  }
  const auto out = cpc(z);
  CHECK(out.loss.item<double>() < 0.5 * first);
  INFO("accuracy " << out.accuracy);
  CHECK(out.accuracy.min().item<double>() >= 0.9);
}

TEST_CASE("CPC gradient matches float64 central differences", "[losses][cpc][gradcheck]") {
  torch::manual_seed(15);
  L::CPC cpc(L::CPCOptions(3).context_dim(4).steps(2));
  cpc->to(torch::kDouble);
  for (const auto& shape : {std::vector<int64_t>{2, 4, 3}, std::vector<int64_t>{1, 5, 3}, std::vector<int64_t>{1, 3, 3, 3}}) {
    INFO("shape " << torch::IntArrayRef(shape));
    CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& z) { return cpc(z).loss; },
                                           torch::randn(shape, torch::kDouble)) <= 1e-4);
  }
}

TEST_CASE("CPC stays finite on huge patch embeddings", "[losses][cpc]") {
  torch::manual_seed(16);
  L::CPC cpc(L::CPCOptions(8).context_dim(8).steps(3));
  const auto z = (torch::randn({4, 6, 8}) * 1e3).requires_grad_();
  const auto out = cpc(z);
  out.loss.backward();
  CHECK(std::isfinite(out.loss.item<double>()));
  CHECK(torch::isfinite(z.grad()).all().item<bool>());
}

TEST_CASE("CPC rejects bad inputs and options", "[losses][cpc][errors]") {
  L::CPC cpc(L::CPCOptions(4).context_dim(4).steps(3));
  CHECK_THROWS_WITH(cpc(torch::randn({2, 3, 4})), Catch::Contains("a sequence must be [B, T, 4] with T > steps = 3, got "
                                                                  "shape [2, 3, 4]"));
  CHECK_THROWS_WITH(cpc(torch::randn({2, 6, 5})), Catch::Contains("got shape [2, 6, 5]"));
  CHECK_THROWS_WITH(cpc(torch::randn({2, 4, 5, 5}).narrow(3, 0, 4)),
                    Catch::Contains("a patch grid must be [B, 4, G, G] with G > steps = 3, got shape [2, 4, 5, 4]"));
  CHECK_THROWS_WITH(cpc(torch::randn({4, 4})), Catch::Contains("expected a sequence [B, T, D] or a patch grid"));
  CHECK_THROWS_WITH(cpc(torch::empty({0, 6, 4})), Catch::Contains("empty batch"));
  CHECK_THROWS_WITH(cpc(torch::ones({2, 6, 4}, torch::kLong)), Catch::Contains("must be a floating-point tensor"));
  CHECK_THROWS_WITH(L::CPC(L::CPCOptions(4).steps(0)), Catch::Contains("steps >= 1, got dim 4, context_dim 256, steps 0"));
}
