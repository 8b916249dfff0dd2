#include "sslkit/trainers/probe.h"

#include <catch2/catch.hpp>

namespace T = ssl::trainers;

TEST_CASE("Linear probe separates linearly separable classes", "[trainers][probe]") {
  torch::manual_seed(11);
  // Four well-separated Gaussian blobs in 16-d, centres 10 apart, unit noise.
  auto centres = torch::randn({4, 16}) * 10;
  auto make = [&](int64_t n) {
    auto labels = torch::randint(0, 4, {n}, torch::kInt64);
    return std::make_pair(centres.index_select(0, labels) + torch::randn({n, 16}), labels);
  };
  auto [train_x, train_y] = make(2000);
  auto [test_x, test_y] = make(500);
  auto result = T::linear_probe(train_x, train_y, test_x, test_y, T::LinearProbeOptions().validation_size(500));
  CHECK(result.test_accuracy >= 0.99);
  CHECK(result.feature_dim == 16);
}

TEST_CASE("Linear probe is at chance on labels independent of the features", "[trainers][probe]") {
  torch::manual_seed(12);
  auto train_x = torch::randn({3000, 8}), test_x = torch::randn({2000, 8});
  auto train_y = torch::randint(0, 5, {3000}, torch::kInt64), test_y = torch::randint(0, 5, {2000}, torch::kInt64);
  auto result = T::linear_probe(train_x, train_y, test_x, test_y, T::LinearProbeOptions().validation_size(500));
  // Chance is 0.2; with 2000 test points the binomial standard deviation is 0.009.
  CHECK(result.test_accuracy == Approx(0.2).margin(0.04));
}

TEST_CASE("Linear probe is deterministic for a fixed seed and validates its inputs", "[trainers][probe]") {
  torch::manual_seed(13);
  auto x = torch::randn({600, 6}), y = torch::randint(0, 3, {600}, torch::kInt64);
  auto options = T::LinearProbeOptions().validation_size(100).max_iterations(30);
  auto a = T::linear_probe(x, y, x, y, options), b = T::linear_probe(x, y, x, y, options);
  CHECK(a.test_accuracy == b.test_accuracy);
  CHECK(a.weight_decay == b.weight_decay);
  CHECK_THROWS_WITH(T::linear_probe(x, y.narrow(0, 0, 10), x, y, options),
                    Catch::Contains("train has 600 feature rows but labels of shape [10]"));
  CHECK_THROWS_WITH(T::linear_probe(x, y, x.narrow(1, 0, 5), y, options),
                    Catch::Contains("train features have 6 dimensions, test features 5"));
}
