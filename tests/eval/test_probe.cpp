#include "sslkit/trainers/eval/knn.h"
#include "sslkit/trainers/eval/probe.h"

#include <catch2/catch.hpp>
#include <torch/nn/functional/loss.h>

#include <tuple>

namespace E = ssl::eval;

TEST_CASE("Linear probe separates linearly separable classes", "[eval][probe]") {
  torch::manual_seed(11);
  // Four well-separated Gaussian blobs in 16-d, centres 10 apart, unit noise.
  auto centres = torch::randn({4, 16}) * 10;
  auto make = [&](int64_t n) {
    auto labels = torch::randint(0, 4, {n}, torch::kInt64);
    return std::make_pair(centres.index_select(0, labels) + torch::randn({n, 16}), labels);
  };
  auto [train_x, train_y] = make(2000);
  auto [test_x, test_y] = make(500);
  auto result = E::linear_probe(train_x, train_y, test_x, test_y, E::LinearProbeOptions().validation_size(500));
  CHECK(result.test_accuracy >= 0.99);
  CHECK(result.feature_dim == 16);
}

TEST_CASE("Linear probe is scale-free: features 1e-13 times smaller classify alike", "[eval][probe]") {
  // A random-init efficientnet-b0 in eval mode gives features of order 1e-13 (measured); an absolute epsilon in the
  // standardization left its probe at chance (10%) while kNN, scale-free, reached 77%.
  torch::manual_seed(14);
  auto centres = torch::randn({3, 8}) * 3;
  auto labels = torch::randint(0, 3, {1500}, torch::kInt64);
  auto x = centres.index_select(0, labels) + torch::randn({1500, 8});
  const auto options = E::LinearProbeOptions().validation_size(300).max_iterations(100);
  const auto train_x = x.narrow(0, 0, 1000), test_x = x.narrow(0, 1000, 500);
  const auto train_y = labels.narrow(0, 0, 1000), test_y = labels.narrow(0, 1000, 500);
  const auto plain = E::linear_probe(train_x, train_y, test_x, test_y, options);
  const auto tiny = E::linear_probe(train_x * 1e-13, train_y, test_x * 1e-13, test_y, options);
  CHECK(plain.test_accuracy > 0.8);
  // Standardized features differ by float rounding only. Measured here: the same test accuracy and chosen weight
  // decay in 180 of 180 runs (30 seeds, features scaled by 1e-13, 1e-6 and 1e3, accuracies 0.72 to 1.0); the margin
  // of 2 of 500 test points leaves room for another BLAS ending L-BFGS a hair apart.
  CHECK(tiny.test_accuracy == Approx(plain.test_accuracy).margin(0.004));
}

TEST_CASE("Linear probe is at chance on labels independent of the features", "[eval][probe]") {
  torch::manual_seed(12);
  auto train_x = torch::randn({3000, 8}), test_x = torch::randn({2000, 8});
  auto train_y = torch::randint(0, 5, {3000}, torch::kInt64), test_y = torch::randint(0, 5, {2000}, torch::kInt64);
  auto result = E::linear_probe(train_x, train_y, test_x, test_y, E::LinearProbeOptions().validation_size(500));
  // Chance is 0.2; with 2000 test points the binomial standard deviation is 0.009.
  CHECK(result.test_accuracy == Approx(0.2).margin(0.04));
}

TEST_CASE("Linear probe is deterministic for a fixed seed and validates its inputs", "[eval][probe]") {
  torch::manual_seed(13);
  auto x = torch::randn({600, 6}), y = torch::randint(0, 3, {600}, torch::kInt64);
  auto options = E::LinearProbeOptions().validation_size(100).max_iterations(30);
  auto a = E::linear_probe(x, y, x, y, options), b = E::linear_probe(x, y, x, y, options);
  CHECK(a.test_accuracy == b.test_accuracy);
  CHECK(a.weight_decay == b.weight_decay);
  CHECK_THROWS_WITH(E::linear_probe(x, y.narrow(0, 0, 10), x, y, options),
                    Catch::Contains("train has 600 feature rows but labels of shape [10]"));
  CHECK_THROWS_WITH(E::linear_probe(x, y, x.narrow(1, 0, 5), y, options),
                    Catch::Contains("train features have 6 dimensions, test features 5"));
}

namespace {

// The probe's objective through autograd, the reference for its one-pass gradient.
std::tuple<double, torch::Tensor, torch::Tensor> autograd_objective(const torch::Tensor& x, const torch::Tensor& y,
                                                                    const torch::Tensor& weight,
                                                                    const torch::Tensor& bias, double weight_decay) {
  auto w = weight.detach().clone().requires_grad_(true), b = bias.detach().clone().requires_grad_(true);
  auto loss = torch::nn::functional::cross_entropy(torch::addmm(b, x, w), y) + weight_decay * w.pow(2).sum();
  loss.backward();
  return {loss.item<double>(), w.grad(), b.grad()};
}

}  // namespace

TEST_CASE("The probe's objective and its gradient match autograd and finite differences in float64",
          "[eval][probe]") {
  torch::manual_seed(15);
  const auto options = torch::TensorOptions().dtype(torch::kDouble);
  SECTION("against central finite differences, every entry") {
    auto x = torch::randn({50, 5}, options), y = torch::randint(0, 3, {50}, torch::kInt64);
    auto weight = torch::randn({5, 3}, options), bias = torch::randn({3}, options);
    const double weight_decay = 0.1;
    E::softmax_regression_objective(x, y, weight, bias, weight_decay);
    const auto grad_weight = weight.grad().clone(), grad_bias = bias.grad().clone();
    // Central differences with h = 1e-6 in float64: truncation O(h^2) ~ 1e-12 and rounding ~ 1e-16 / h ~ 1e-10
    // of these O(1) values. Measured: at most 6.2e-10 over the 18 entries (1 and 2 threads); 1e-7 leaves 160x.
    const double h = 1e-6;
    for (auto* parameter : {&weight, &bias}) {
      auto flat = parameter->view(-1);
      const auto& analytic = parameter == &weight ? grad_weight : grad_bias;
      for (int64_t i = 0; i < flat.numel(); ++i) {
        const double saved = flat[i].item<double>();
        flat[i] = saved + h;
        const double up = E::softmax_regression_objective(x, y, weight, bias, weight_decay).item<double>();
        flat[i] = saved - h;
        const double down = E::softmax_regression_objective(x, y, weight, bias, weight_decay).item<double>();
        flat[i] = saved;
        CHECK(analytic.view(-1)[i].item<double>() == Approx((up - down) / (2 * h)).margin(1e-7));
      }
    }
  }
  SECTION("against autograd, over many cache blocks and both threads' chunks") {
    // 33 000 float64 features: 16-row blocks, so the 70 rows span five blocks in two chunks.
    auto x = torch::randn({70, 33000}, options), y = torch::randint(0, 4, {70}, torch::kInt64);
    auto weight = torch::randn({33000, 4}, options) * 0.01, bias = torch::randn({4}, options);
    const double loss = E::softmax_regression_objective(x, y, weight, bias, 1e-3).item<double>();
    const auto [expected_loss, expected_weight, expected_bias] = autograd_objective(x, y, weight, bias, 1e-3);
    // Summation order alone differs: float64 rounding, ~1e-16 relative per term over 70 rows. Measured (1 and 2
    // threads): the same loss to the last bit, gradients at most 2.2e-16 apart, 0.3% of the allclose band.
    CHECK(loss == Approx(expected_loss).epsilon(1e-12));
    CHECK(torch::allclose(weight.grad(), expected_weight, 1e-10, 1e-14));
    CHECK(torch::allclose(bias.grad(), expected_bias, 1e-10, 1e-14));
  }
  SECTION("rejects mismatched shapes") {
    auto x = torch::randn({4, 3}), weight = torch::zeros({2, 5}), bias = torch::zeros({5});
    CHECK_THROWS_WITH(E::softmax_regression_objective(x, torch::zeros({4}, torch::kInt64), weight, bias, 0),
                      Catch::Contains("softmax regression: expected x [N, D], labels [N], weight [D, K], bias [K], "
                                      "got [4, 3], [4], [2, 5], [5]"));
  }
}

TEST_CASE("The weight-decay sweep's fits, run together, each follow the path they follow alone", "[eval][probe]") {
  // The sweep's L-BFGS fits share one matmul per evaluation; only its rounding (near 1e-15 in float64) may differ
  // from a fit alone, too little to move a prediction of these 300 held-out rows after 40 iterations.
  torch::manual_seed(16);
  const auto options = torch::TensorOptions().dtype(torch::kDouble);
  auto centres = torch::randn({3, 12}, options) * 0.7;
  auto labels = torch::randint(0, 3, {1200}, torch::kInt64);
  auto x = centres.index_select(0, labels) + torch::randn({1200, 12}, options);
  const auto probe = E::LinearProbeOptions().validation_size(300).max_iterations(40);
  const auto together =
      E::fit_linear_classifier(x, labels, 3, E::LinearProbeOptions(probe).weight_decays({0.0, 1e-3, 0.3, 3.0}));
  const auto alone =
      E::fit_linear_classifier(x, labels, 3, E::LinearProbeOptions(probe).weight_decays({together.weight_decay}));
  CHECK(together.validation_accuracy > 0.5);
  CHECK(alone.validation_accuracy == together.validation_accuracy);
  CHECK(torch::allclose(alone.weight, together.weight, 0, 0));
}

TEST_CASE("kNN votes with exp(cos / t) weights of the k nearest training rows", "[eval][knn]") {
  // Training rows on the unit circle at angles 0, 10, 25 degrees (label 0) and 90, 100 degrees (label 1).
  auto at_degrees = [](std::vector<double> degrees) {
    auto a = torch::tensor(degrees, torch::kDouble) * (M_PI / 180.0);
    return torch::stack({a.cos(), a.sin()}, 1).to(torch::kFloat);
  };
  auto train = at_degrees({0, 10, 25, 90, 100});
  auto labels = torch::tensor({0, 0, 0, 1, 1}, torch::kInt64);
  // A query at 60 degrees: its 2 nearest rows are 90 (cos 30 = 0.866, label 1) and 25 (cos 35 = 0.819, label 0);
  // with k = 2 label 1 wins; with k = 5 the three label-0 rows (cos 60, 50, 35) outvote the two label-1 rows
  // (cos 30, 40) at t = 1: e^.5 + e^.643 + e^.819 = 5.82 > e^.866 + e^.766 = 4.53.
  auto query = at_degrees({60});
  using ssl::eval::KnnOptions;
  CHECK(ssl::eval::knn_predict(train, labels, query, KnnOptions().k(2).temperature(1.0))[0].item<int64_t>() == 1);
  CHECK(ssl::eval::knn_predict(train, labels, query, KnnOptions().k(5).temperature(1.0))[0].item<int64_t>() == 0);
  // A sharp temperature lets the single nearest neighbour dominate: e^(.866/.01) >> 3 e^(.819/.01).
  CHECK(ssl::eval::knn_predict(train, labels, query, KnnOptions().k(5).temperature(0.01))[0].item<int64_t>() == 1);
  CHECK(ssl::eval::knn_accuracy(train, labels, at_degrees({5, 95}), torch::tensor({0, 1}),
                                    KnnOptions().k(1)) == 1.0);
  CHECK_THROWS_WITH(ssl::eval::knn_predict(train, labels, query, KnnOptions().k(0)),
                    Catch::Contains("k must be > 0, got 0"));
}
