#include "sslkit/trainers/eval/knn.h"
#include "sslkit/trainers/eval/probe.h"

#include <catch2/catch.hpp>

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
