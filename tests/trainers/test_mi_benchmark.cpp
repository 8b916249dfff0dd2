// Smoke tests of the benchmark library behind `sslkit bench` (test_mi_benchmark links sslkit::trainers).
#include <sslkit/trainers/mi_benchmark.h>

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

namespace T = ssl::trainers;

TEST_CASE("correlation_for_mi inverts I = -(d/2) log(1 - rho^2)", "[bench][mi]") {
  for (double mi : {0.5, 2.0, 10.0}) {
    const double rho = T::correlation_for_mi(mi, 20);
    CHECK(-10 * std::log(1 - rho * rho) == Approx(mi).epsilon(1e-12));
  }
}

TEST_CASE("a short InfoNCE run learns and stays below log N", "[bench][mi]") {
  torch::set_num_threads(1);
  const auto rows = T::run_mi_benchmark(T::MIBenchmarkOptions()
                                            .batch_size(16)
                                            .steps(1500)
                                            .average_last(200)
                                            .lr(2e-3)
                                            .hidden_dim(32)
                                            .layers(1)
                                            .true_mi({1.0, 8.0})
                                            .bounds({"infonce"}));
  REQUIRE(rows.size() == 2);
  const double log_n = std::log(16.0);
  INFO("estimates " << rows[0].estimate << ", " << rows[1].estimate);
  CHECK(rows[0].estimate > 0.4);  // an untrained critic scores about 0
  CHECK(rows[0].estimate < 1.3);
  CHECK(rows[1].estimate > rows[0].estimate);
  CHECK(rows[1].estimate <= log_n);
  CHECK(rows[1].variance >= 0);
  const auto table = T::format_mi_table(rows, 16);
  CHECK_THAT(table, Catch::Contains("infonce  separable") && Catch::Contains("log N = 2.773 for N = 16"));
}

TEST_CASE("the MI benchmark rejects unknown bounds and critics", "[bench][mi][errors]") {
  CHECK_THROWS_WITH(T::run_mi_benchmark(T::MIBenchmarkOptions().bounds({"infonce", "mi"})),
                    Catch::Contains("unknown MI bound 'mi': expected one of infonce, nwj, js, dv, mine"));
  CHECK_THROWS_WITH(T::run_mi_benchmark(T::MIBenchmarkOptions().critic("bilinear")),
                    Catch::Contains("unknown critic 'bilinear': expected one of separable, concat"));
}

TEST_CASE("the loss benchmark times every loss at every size", "[bench][losses]") {
  const auto rows = T::run_loss_benchmark(T::LossBenchmarkOptions().sizes({4, 8}).dim(3).repeats(1).queue_size(5));
  REQUIRE(rows.size() == 16);
  CHECK(rows[0].loss == "nt_xent");
  CHECK(rows[5].loss == "info_nce+queue");
  CHECK(rows[5].n == 8);
  const char* added[] = {"barlow_twins", "vicreg", "negative_cosine", "dino", "sinkhorn+swap"};
  for (int i = 0; i < 5; ++i) {
    CHECK(rows[6 + 2 * i].loss == added[i]);
    CHECK(rows[7 + 2 * i].n == 8);
  }
  for (const auto& row : rows) CHECK(row.milliseconds > 0);
}

TEST_CASE("format_table pads columns and right-aligns numbers", "[bench]") {
  const auto table = T::format_table({"name", "value"}, {{"a", "1.5"}, {"longer", "10.25"}});
  CHECK(table == "name    value\n------  -----\na         1.5\nlonger  10.25\n");
}
