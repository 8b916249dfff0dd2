#include "sslkit/trainers/train_benchmark.h"

#include <catch2/catch.hpp>

namespace T = ssl::trainers;

TEST_CASE("Throughput summarizes rounds by median and range", "[trainers][bench]") {
  CHECK(T::Throughput{{300, 100, 200}}.median() == 200);
  CHECK(T::Throughput{{400, 100, 300, 200}}.median() == 250);
  CHECK(T::Throughput{{300, 100, 200}}.low() == 100);
  CHECK(T::Throughput{{300, 100, 200}}.high() == 300);
  CHECK(T::Throughput{}.median() == 0);
}

TEST_CASE("The bench train table sets each precision's GFLOP/s against its own peak", "[trainers][bench]") {
  T::TrainBenchmarkOptions options;
  options.rounds(2).steps(5).warmup_steps(1).matmul_size(1024);
  T::TrainBenchmarkResult r;
  r.device = "cpu";
  r.precision = "bf16 (CPU autocast)";
  r.threads = 2;
  r.end_to_end.rounds = {900, 1100};
  r.compute_only.rounds = {1000, 1000};
  r.data_only.rounds = {5000, 7000};
  r.flops_per_image = 200e6;  // 1000 images/s = 200 GFLOP/s
  r.matmul_peak_gflops = 250;
  r.bf16_matmul_peak_gflops = 800;
  r.step_peak_gflops = 800;
  r.peak_memory_bytes = 512ll << 20;
  r.memory_kind = "RSS";
  const std::string table = T::format_train_table(options, r);
  CHECK(table.find("2 rounds of 5 timed steps (after 1 untimed) per measurement") != std::string::npos);
  // Medians 1000 and 1000 images/s: 200 GFLOP/s, 25% of the 800 GFLOP/s bf16 peak.
  CHECK(table.find("of bf16 peak") != std::string::npos);
  CHECK(table.find("end-to-end                         1000        900-1100      200.0           25%") !=
        std::string::npos);
  CHECK(table.find("data-only                          6000       5000-7000") != std::string::npos);
  // The ratio of the medians, and of each round: 90% and 110%.
  CHECK(table.find("end-to-end / compute-only        100.0%     90.0-110.0% (per round)") != std::string::npos);
  CHECK(table.find("matmul peak                       250.0 GFLOP/s (fp32 1024^3 matmul)") != std::string::npos);
  CHECK(table.find("bf16 matmul peak                  800.0 GFLOP/s (bf16 1024^3 matmul)") != std::string::npos);
}
