#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace L = ssl::losses;

namespace {

const auto kScores = [] {
  return torch::tensor({{2.0, 0.5, -1.0}, {0.0, 1.5, 0.3}, {-0.2, 0.1, 3.0}}, torch::kDouble);
};

struct Bound {
  std::string name;
  std::function<torch::Tensor(const torch::Tensor&)> f;
};

const std::vector<Bound> kBounds = {{"infonce", L::mi_infonce}, {"nwj", L::mi_nwj}, {"dv", L::mi_dv}, {"jsd", L::mi_jsd}};

}  // namespace

TEST_CASE("MI bounds match Poole et al.'s formulas on a 3x3 score matrix", "[losses][mi]") {
  // Reference, PyTorch 1.13 float64 with s = kScores, off = ~eye(3, dtype=bool):
  //   infonce: log(3) - F.cross_entropy(s, arange(3))                   = 0.847167634600986
  //   nwj:     s.diag().mean() - exp(s[off] - 1).mean()                  = 1.780984240072517
  //   dv:      s.diag().mean() - log(exp(s[off]).mean())                 = 2.119407643841947
  //   jsd:     -F.softplus(-s.diag()).mean() - F.softplus(s[off]).mean() = -0.821872317896817
  CHECK(L::mi_infonce(kScores()).item<double>() == Approx(0.847167634600986).epsilon(1e-12));
  CHECK(L::mi_nwj(kScores()).item<double>() == Approx(1.780984240072517).epsilon(1e-12));
  CHECK(L::mi_dv(kScores()).item<double>() == Approx(2.119407643841947).epsilon(1e-12));
  CHECK(L::mi_jsd(kScores()).item<double>() == Approx(-0.821872317896817).epsilon(1e-12));
  // float32 scores agree to float32 precision.
  CHECK(L::mi_dv(kScores().to(torch::kFloat)).item<double>() == Approx(2.119407643841947).epsilon(1e-6));
}

TEST_CASE("the InfoNCE bound never exceeds log N while the others can", "[losses][mi]") {
  torch::manual_seed(5);
  const auto scores = torch::randn({16, 16}, torch::kDouble) + 50 * torch::eye(16, torch::kDouble);
  const double log_n = std::log(16.0);
  CHECK(L::mi_infonce(scores).item<double>() <= log_n);
  CHECK(L::mi_infonce(scores).item<double>() == Approx(log_n).epsilon(1e-9));
  CHECK(L::mi_dv(scores).item<double>() > 10 * log_n);
  CHECK(L::mi_nwj(scores).item<double>() > 10 * log_n);
  // A single pair carries no information for InfoNCE: log 1 - 0 = 0.
  CHECK(L::mi_infonce(torch::ones({1, 1})).item<double>() == Approx(0.0).margin(1e-7));
}

TEST_CASE("MI bounds' gradients match float64 central differences", "[losses][mi][gradcheck]") {
  torch::manual_seed(6);
  for (int64_t n : {2, 3, 6}) {
    for (const auto& bound : kBounds) {
      INFO(bound.name << " N=" << n);
      CHECK(ssl::testing::max_gradient_error(bound.f, torch::randn({n, n}, torch::kDouble)) <= 1e-4);
    }
    // MINE in eval mode before any training step uses the batch itself as the average: the DV gradient.
    L::MINE mine;
    mine->eval();
    INFO("MINE N=" << n);
    CHECK(ssl::testing::max_gradient_error([&](const torch::Tensor& s) { return mine(s); },
                                           torch::randn({n, n}, torch::kDouble)) <= 1e-4);
  }
}

TEST_CASE("MINE keeps a moving average and corrects the gradient with it", "[losses][mi][mine]") {
  torch::manual_seed(7);
  const double decay = 0.9;
  L::MINE mine(L::MINEOptions().ema_decay(decay));
  const auto s1 = torch::randn({4, 4}, torch::kDouble);
  const auto s2 = (torch::randn({4, 4}, torch::kDouble) + 1).requires_grad_();
  const auto off = torch::ones({4, 4}, torch::kBool).logical_xor(torch::eye(4, torch::kBool));
  const double m1 = s1.masked_select(off).exp().mean().item<double>();
  const double m2 = s2.detach().masked_select(off).exp().mean().item<double>();

  CHECK(mine(s1).item<double>() == Approx(L::mi_dv(s1).item<double>()).epsilon(1e-12));
  CHECK(mine->log_moving_average().item<double>() == Approx(std::log(m1)).epsilon(1e-12));
  const auto value = mine(s2);
  const double m = decay * m1 + (1 - decay) * m2;  // the EMA after the second batch
  CHECK(mine->log_moving_average().item<double>() == Approx(std::log(m)).epsilon(1e-12));
  CHECK(value.item<double>() == Approx(L::mi_dv(s2).item<double>()).epsilon(1e-12));
  // Gradient of the surrogate mean(diag s) - mean_{i != j} exp(s_ij) / m: 1/N on the diagonal,
  // -exp(s_ij) / (N (N - 1) m) off it.
  value.backward();
  const auto expected = torch::where(off, -s2.detach().exp() / (12 * m), torch::full({4, 4}, 0.25, torch::kDouble));
  CHECK(torch::allclose(s2.grad(), expected, 1e-10, 1e-12));
  // In eval mode the average is read, not updated.
  mine->eval();
  mine(torch::randn({4, 4}, torch::kDouble));
  CHECK(mine->log_moving_average().item<double>() == Approx(std::log(m)).epsilon(1e-12));
}

TEST_CASE("MI bounds stay finite on large scores", "[losses][mi]") {
  torch::manual_seed(8);
  const auto scores = (torch::randn({8, 8}) * 1e4).requires_grad_();
  const auto total = L::mi_infonce(scores) + L::mi_dv(scores) + L::mi_jsd(scores);
  total.backward();
  CHECK(std::isfinite(total.item<double>()));
  CHECK(torch::isfinite(scores.grad()).all().item<bool>());
  L::MINE mine;
  const auto big = (torch::randn({8, 8}) * 1e3).requires_grad_();
  for (int step = 0; step < 3; ++step) mine(big).backward();
  CHECK(torch::isfinite(big.grad()).all().item<bool>());
  CHECK(std::isfinite(mine->log_moving_average().item<double>()));
}

TEST_CASE("MI bounds reject bad score matrices", "[losses][mi][errors]") {
  CHECK_THROWS_WITH(L::mi_infonce(torch::randn({3, 4})),
                    Catch::Contains("mi_infonce: scores must be a square [N, N] matrix (diagonal = positive pairs), got "
                                    "shape [3, 4]"));
  CHECK_THROWS_WITH(L::mi_nwj(torch::randn({1, 1})), Catch::Contains("mi_nwj: needs a batch of at least 2 pairs"));
  CHECK_THROWS_WITH(L::mi_dv(torch::ones({3, 3}, torch::kLong)), Catch::Contains("must be a floating-point tensor"));
  CHECK_THROWS_WITH(L::mi_jsd(torch::empty({0, 0})), Catch::Contains("got shape [0, 0]"));
  CHECK_THROWS_WITH(L::mi_infonce(torch::empty({0, 0})), Catch::Contains("at least 1 pairs"));
  CHECK_THROWS_WITH(L::MINE(L::MINEOptions().ema_decay(1.0)), Catch::Contains("ema_decay must be in [0, 1), got 1"));
}
