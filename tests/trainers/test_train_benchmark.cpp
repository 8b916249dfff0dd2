#include "errors.h"
#include "temp_dir.h"
#include "trainers/run_helpers.h"

#include "sslkit/trainers/time_to_accuracy.h"
#include "sslkit/trainers/train_benchmark.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

using ssl::testing::error_message;
using ssl::testing::SingleThread;
using ssl::testing::TempDir;
using ssl::testing::tiny_run;
using ssl::testing::with_loop;
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

TEST_CASE("Time to accuracy probes the kept checkpoints from the last back and times each target",
          "[trainers][bench]") {
  SingleThread single_thread;
  TempDir dir;
  const std::string run = dir.file("run");
  // 192 images in batches of 32: epochs end at steps 6, 12 and 18, where the checkpoints are written and kept.
  T::pretrain(with_loop(tiny_run(run), [](auto& loop) { loop.keep_checkpoints(true); }));
  T::TimeToAccuracyOptions options;
  options.run_dir(run).targets({0.05, 0.999}).matmul_size(64);
  options.probe().max_train(500);
  const auto all = T::time_to_accuracy(options);
  REQUIRE(all.checkpoints.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    INFO("checkpoint " << i);
    CHECK(all.checkpoints[i].path == run + "/checkpoint-step-" + std::to_string(6 * (i + 1)) + ".pt");
    CHECK(all.checkpoints[i].step == static_cast<int64_t>(6 * (i + 1)));
    CHECK(all.checkpoints[i].epochs == static_cast<double>(i + 1));
    // Ten classes: any working probe is far above 5% (chance is 10%), so every checkpoint is probed.
    CHECK(all.checkpoints[i].accuracy > 0.05);
    CHECK(all.checkpoints[i].accuracy <= 1.0);
    if (i > 0) CHECK(all.checkpoints[i].minutes > all.checkpoints[i - 1].minutes);
  }
  CHECK(all.model == "simclr/convnet-w");
  REQUIRE(all.minutes_to_target.size() == 2);
  CHECK(all.minutes_to_target[0] == all.checkpoints[0].minutes);
  CHECK(all.minutes_to_target[1] < 0);  // 99.9% is out of reach of 18 steps
  const auto table = T::format_time_to_accuracy(options, all);
  CHECK_THAT(table, Catch::Contains("99.9%   not reached (last checkpoint "));

  // Below the only target at the last checkpoint: the earlier ones cannot matter and are not probed.
  options.targets({0.999});
  const auto last_only = T::time_to_accuracy(options);
  CHECK(last_only.checkpoints[0].accuracy < 0);
  CHECK(last_only.checkpoints[1].accuracy < 0);
  CHECK(last_only.checkpoints[2].accuracy == all.checkpoints[2].accuracy);  // the probe is deterministic
  CHECK_THAT(T::format_time_to_accuracy(options, last_only), Catch::Contains("\n   1.00        6 "));

  CHECK(error_message([&] { T::time_to_accuracy(T::TimeToAccuracyOptions().run_dir(dir.file("none"))); }) ==
        "bench accuracy: '" + dir.file("none") + "' holds no checkpoint-step-*.pt: pretrain the run with "
        "--keep-checkpoints");
  CHECK(error_message([&] { T::time_to_accuracy(T::TimeToAccuracyOptions().run_dir(run).targets({0.9, 0})); }) ==
        "bench accuracy: target 0% is not in (0, 100]");

  // Starting over removes the kept checkpoints with the rest of the old run; with checkpoint_every, those steps are
  // kept too (and the last step, which ends the run).
  T::pretrain(with_loop(tiny_run(run).overwrite(true), [](auto& loop) {
    loop.max_steps(9).checkpoint_every(4).keep_checkpoints(true);
  }));
  std::vector<std::string> kept;
  for (const auto& entry : std::filesystem::directory_iterator(run)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("checkpoint-step-", 0) == 0) kept.push_back(name);
  }
  std::sort(kept.begin(), kept.end());
  CHECK(kept == std::vector<std::string>{"checkpoint-step-4.pt", "checkpoint-step-6.pt", "checkpoint-step-8.pt",
                                         "checkpoint-step-9.pt"});
}
