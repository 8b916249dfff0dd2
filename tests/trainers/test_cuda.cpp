// The CUDA path. These tests are hidden ("[.cuda]"): CI's machines have no GPU, so ctest does not list them, and
// scripts/gpu-check.sh runs them (`test_trainers "[cuda]"`) on a machine that has one. Without a CUDA device they
// fail rather than pass vacuously.
//
// Tolerances against the CPU: the bounds below come from the arithmetic (TF32 convolutions round to 10 mantissa
// bits, unit roundoff 2^-11 = 4.9e-4; bf16 keeps 8 bits, 2^-9 = 2.0e-3; fp16 10 bits), not from a measured noise
// floor, since no GPU was at hand when they were written; each test prints the measured difference (WARN), so that
// the first run of gpu-check records it.
#include "random_images.h"
#include "temp_dir.h"
#include "trainers/run_helpers.h"

#include "sslkit/ssl/checkpoint.h"
#include "sslkit/ssl/encoders.h"
#include "sslkit/data/loader.h"
#include "sslkit/data/views/two_views.h"
#include "sslkit/trainers/methods/simclr.h"
#include "sslkit/trainers/precision.h"
#include "sslkit/trainers/pretrain.h"
#include "sslkit/trainers/train_benchmark.h"

#include <catch2/catch.hpp>
#include <torch/cuda.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <thread>

using ssl::testing::logged_values;
using ssl::testing::TempDir;
namespace D = ssl::data;
namespace T = ssl::trainers;

namespace {

const torch::Device kCuda(torch::kCUDA, 0);

std::shared_ptr<D::MemorySource> random_source(int64_t n) {
  return std::make_shared<D::MemorySource>(ssl::testing::random_set(n, 28, 28, 1, 3));
}

std::shared_ptr<D::TwoViews> two_views() {
  return std::make_shared<D::TwoViews>(D::ContrastiveAugmentOptions(), D::Normalization{{0.5f}, {0.25f}});
}

// The loss of one SimCLR step of convnet-s (weights from seed 5) on `batch`, on `device` at `precision`.
double simclr_step_loss(const D::Batch& batch, torch::Device device, T::Precision precision) {
  torch::manual_seed(5);
  T::SimCLR method(ssl::make_encoder("convnet-s", ssl::EncoderOptions(1)), T::SimCLROptions());
  for (const auto& module : method.modules()) module->to(device);
  D::Batch on_device = batch;
  for (auto& view : on_device.views) view = view.to(device);
  T::AutocastGuard autocast(precision, device);
  return method.step(on_device).loss.item<double>();
}

}  // namespace

TEST_CASE("CUDA loader: batches arrive on the GPU (pinned memory, non-blocking copies) equal to the CPU loader's",
          "[.cuda]") {
  REQUIRE(torch::cuda::is_available());
  const auto source = random_source(64);
  const auto maker = two_views();
  D::Loader on_cpu(source, maker, D::LoaderOptions(16).seed(5).workers(2));
  D::Loader on_gpu(source, maker, D::LoaderOptions(16).seed(5).workers(2).device(kCuda));
  on_cpu.start_epoch(1);
  on_gpu.start_epoch(1);
  int64_t batches = 0;
  while (auto expected = on_cpu.next()) {
    auto actual = on_gpu.next();
    REQUIRE(actual.has_value());
    REQUIRE(actual->views.size() == expected->views.size());
    for (size_t v = 0; v < expected->views.size(); ++v) {
      CHECK(actual->views[v].device() == kCuda);
      CHECK(torch::equal(actual->views[v].cpu(), expected->views[v]));  // copies are exact
    }
    ++batches;
  }
  CHECK_FALSE(on_gpu.next().has_value());
  CHECK(batches == 4);
}

TEST_CASE("fp16 loss scaling on CUDA gradients: exact unscale by a power of two, backoff on inf", "[.cuda]") {
  REQUIRE(torch::cuda::is_available());
  T::LossScaler scaler;  // PyTorch GradScaler's defaults: 65536, growth 2 after 2000 finite steps, backoff 0.5
  auto p = torch::zeros({3}, torch::TensorOptions().device(kCuda)).requires_grad_(true);
  (p * torch::tensor({3.0f, -0.5f, 0.25f}, kCuda) * scaler.scale()).sum().backward();
  CHECK(scaler.unscale({p}));
  CHECK(torch::equal(p.grad().cpu(), torch::tensor({3.0f, -0.5f, 0.25f})));
  scaler.update(true);
  CHECK(scaler.scale() == 65536);
  p.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 0.0f}, kCuda);
  CHECK_FALSE(scaler.unscale({p}));
  scaler.update(false);
  CHECK(scaler.scale() == 32768);
  CHECK(scaler.growth_tracker() == 0);
}

TEST_CASE("A SimCLR step on CUDA gives the CPU's fp32 loss: fp32 (TF32 convolutions), bf16 and fp16 autocast",
          "[.cuda]") {
  REQUIRE(torch::cuda::is_available());
  D::Loader loader(random_source(64), two_views(), D::LoaderOptions(32).seed(9).workers(0));
  const auto batch = loader.make_batch(0, 0);
  const double reference = simclr_step_loss(batch, torch::kCPU, T::Precision::FP32);
  // NT-Xent over 64 views starts near log(63) = 4.14 with random weights.
  CHECK(reference > 3.5);
  // Relative bounds: 10x the unit roundoff of the narrowest format in the forward pass (see the file comment).
  const std::vector<std::pair<T::Precision, double>> cases = {
      {T::Precision::FP32, 10 * 4.9e-4}, {T::Precision::BF16, 10 * 2.0e-3}, {T::Precision::FP16, 10 * 4.9e-4}};
  for (const auto& [precision, bound] : cases) {
    const double loss = simclr_step_loss(batch, kCuda, precision);
    const double relative = std::abs(loss - reference) / reference;
    WARN("CUDA " << T::to_string(precision) << " loss " << loss << " vs CPU fp32 " << reference
                 << ": relative difference " << relative);
    CHECK(relative < bound);
  }
}

TEST_CASE("Precision auto on CUDA: bf16 from compute capability 8.0 (Ampere) on, fp16 accepted", "[.cuda]") {
  REQUIRE(torch::cuda::is_available());
  const auto resolved = T::check_precision(T::Precision::Auto, kCuda);
  CHECK(resolved == (T::has_fast_bf16(kCuda) ? T::Precision::BF16 : T::Precision::FP32));
  CHECK(T::check_precision(T::Precision::Auto, kCuda, false) == resolved);  // the CPU-only encoder hint is ignored
  CHECK(T::check_precision(T::Precision::FP16, kCuda) == T::Precision::FP16);
}

TEST_CASE("Pretraining on CUDA lowers the loss in fp32, bf16 and fp16 (loss scaling), resuming from a checkpoint",
          "[.cuda]") {
  REQUIRE(torch::cuda::is_available());
  for (const auto precision : {T::Precision::FP32, T::Precision::BF16, T::Precision::FP16}) {
    INFO("precision " << T::to_string(precision));
    TempDir dir;
    // The configuration of test_simclr's CPU run (512 Fashion-MNIST images, batches of 64, 5 epochs, seed 7),
    // stopped after 3 epochs and resumed.
    auto options = T::PretrainOptions()
                       .loop(T::LoopOptions().out_dir(dir.str()).epochs(5).max_minutes(0).log_every(8).max_steps(24))
                       .max_images(512)
                       .batch_size(64)
                       .device(ssl::parse_device("cuda"))
                       .seed(7);
    options.loop().precision(precision);
    const auto first = T::pretrain(options);
    CHECK(first.steps == 24);
    options.loop().max_steps(0);
    const auto result = T::pretrain(options.resume(true));
    CHECK(result.resumed_from_step == 24);
    CHECK(result.steps == 40);
    CHECK(ssl::load_checkpoint(result.checkpoint).metadata.step == 40);
    const auto losses = logged_values(dir.file("metrics.jsonl"));
    REQUIRE(losses.size() == 5);
    WARN("CUDA " << T::to_string(precision) << ": first epoch loss " << losses.front() << ", last "
                 << losses.back());
    // The CPU run's criterion (test_simclr): a working pipeline learns well below its first epoch.
    CHECK(losses.back() < losses.front() - 0.5);
  }
}

TEST_CASE("bench train on CUDA: fp32, bf16 and fp16 tables with CUDA memory and the matmul peaks",
          "[.cuda-bench]") {
  // What `sslkit bench train --device cuda --precision P` prints, for builds without the CLI (no Boost): gpu-check
  // runs it only then. The checks are that each measurement ran on the GPU, not how fast.
  REQUIRE(torch::cuda::is_available());
  const int64_t workers = std::max<int64_t>(1, static_cast<int64_t>(std::thread::hardware_concurrency()) - 2);
  for (const auto precision : {T::Precision::FP32, T::Precision::BF16, T::Precision::FP16}) {
    T::TrainBenchmarkOptions options;
    options.config().device(ssl::parse_device("cuda")).workers(workers);
    options.config().loop().precision(precision);
    const auto result = T::run_train_benchmark(options);
    std::cout << "\n" << T::format_train_table(options, result) << std::flush;
    CHECK(result.device == "cuda:0");
    CHECK(result.memory_kind == "CUDA allocated");
    CHECK(result.peak_memory_bytes > 0);
    CHECK(result.matmul_peak_gflops > 0);
    CHECK(result.compute_only.median() > 0);
    CHECK(result.end_to_end.median() > 0);
  }
}
