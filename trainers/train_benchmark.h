#pragma once
#include "sslkit/trainers/precision.h"
#include "sslkit/trainers/pretrain.h"

#include <torch/arg.h>

#include <string>
#include <vector>

namespace ssl::trainers {

/// GFLOP/s of an n x n by n x n matrix product in `dtype` on `device` (after one untimed product): the matmul peak
/// that every speed figure is set against.
double matmul_gflops(torch::Device device, int64_t n, torch::ScalarType dtype = torch::kFloat);

/// What `run_train_benchmark` measures: the training configuration (method, encoder, batch size, data,
/// precision, loader workers, device) and how many steps to time.
struct TrainBenchmarkOptions {
  /// The configuration timed, as `sslkit pretrain` would run it (its budget fields are ignored).
  TORCH_ARG(PretrainOptions, config) = {};
  /// Timed steps per measurement, after `warmup_steps` untimed ones.
  TORCH_ARG(int64_t, steps) = 20;
  /// Untimed steps before each measurement (allocator and oneDNN warm-up).
  TORCH_ARG(int64_t, warmup_steps) = 3;
  /// Rounds of the three measurements; each round runs them in another order (data, compute, end-to-end rotated),
  /// so that no measurement always comes first or last.
  TORCH_ARG(int64_t, rounds) = 3;
  /// Side of the square fp32 matrices whose product measures the matmul peak.
  TORCH_ARG(int64_t, matmul_size) = 2048;
};

/// Images per second of one measurement, one value per round.
struct Throughput {
  /// The rounds' images/s, in round order.
  std::vector<double> rounds;
  /// The median of the rounds (the mean of the middle two for an even count); 0 when there are none.
  double median() const;
  /// The smallest round.
  double low() const;
  /// The largest round.
  double high() const;
};

/// Where the time of one training configuration goes.
struct TrainBenchmarkResult {
  /// Device the steps ran on, e.g. "cpu" or "cuda:0".
  std::string device;
  /// Precision of the forward pass, e.g. "fp32" or "bf16 (CPU autocast)".
  std::string precision;
  /// Intra-op threads (CPU).
  int64_t threads = 0;
  /// Images per second of loader + step, as `sslkit pretrain` runs them.
  Throughput end_to_end;
  /// Images per second of the step alone, on batches prepared in advance.
  Throughput compute_only;
  /// Images per second the loader delivers with nothing else running.
  Throughput data_only;
  /// Training FLOPs per image: views x 3 x the encoder's forward FLOPs (backward ~ 2 x forward); heads and
  /// losses are left out, as they are a few percent on these encoders.
  double flops_per_image = 0;
  /// fp32 matrix-multiply GFLOP/s measured on the same device.
  double matmul_peak_gflops = 0;
  /// bf16 matrix-multiply GFLOP/s on the same device; 0 when the device has no fast bf16 (`has_fast_bf16`).
  double bf16_matmul_peak_gflops = 0;
  /// The peak the step's GFLOP/s is set against: bf16's for a bf16 run, else fp32's.
  double step_peak_gflops = 0;
  /// Peak resident memory of the process (CPU) or peak allocated CUDA memory, in bytes.
  int64_t peak_memory_bytes = 0;
  /// What `peak_memory_bytes` measures: "RSS" or "CUDA allocated".
  std::string memory_kind;
};

/// Times data-only, compute-only and end-to-end training of `options.config()` in interleaved rounds and measures
/// the fp32 (and, where fast, bf16) matmul peaks.
TrainBenchmarkResult run_train_benchmark(const TrainBenchmarkOptions& options);

/// The result as an aligned text table: per measurement the median images/s with the rounds' range, its GFLOP/s and
/// share of the run precision's matmul peak; the end-to-end / compute-only ratio; FLOPs, both peaks and memory.
std::string format_train_table(const TrainBenchmarkOptions& options, const TrainBenchmarkResult& result);

/// What `run_encoder_benchmark` measures: each encoder's size and cost on one input shape, and its forward +
/// backward images/s on random images in each precision.
struct EncoderBenchmarkOptions {
  /// Registered encoder names (empty: all of them).
  TORCH_ARG(std::vector<std::string>, encoders) = {};
  /// Input channels.
  TORCH_ARG(int64_t, channels) = 1;
  /// Input side in pixels.
  TORCH_ARG(int64_t, image_size) = 28;
  /// ResNet stem (auto | cifar | imagenet).
  TORCH_ARG(std::string, stem) = "auto";
  /// Images per timed forward + backward pass.
  TORCH_ARG(int64_t, batch_size) = 64;
  /// Timed passes per precision, after one untimed pass.
  TORCH_ARG(int64_t, steps) = 3;
  /// Precisions timed (fp32, bf16, fp16; auto is resolved), each a column.
  TORCH_ARG(std::vector<Precision>, precisions) = std::vector<Precision>{Precision::FP32, Precision::BF16};
  /// Where the passes run.
  TORCH_ARG(std::string, device) = "auto";
  /// Seed of the weights and images.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Side of the square fp32 matrices whose product measures the matmul peak.
  TORCH_ARG(int64_t, matmul_size) = 2048;
};

/// One encoder's row of `run_encoder_benchmark`.
struct EncoderBenchmarkRow {
  /// Registered name.
  std::string encoder;
  /// Width of its representation.
  int64_t feature_dim = 0;
  /// Parameters (weights, biases, embeddings; not BatchNorm running statistics).
  int64_t parameters = 0;
  /// Forward FLOPs of one image (`encoder_flops_per_image`).
  int64_t forward_flops = 0;
  /// Forward + backward images/s in each precision of the options, in their order.
  std::vector<double> images_per_second;
};

/// The rows of every encoder of `options`, and the fp32 matmul peak of the device (GFLOP/s) in `matmul_peak_gflops`.
std::vector<EncoderBenchmarkRow> run_encoder_benchmark(const EncoderBenchmarkOptions& options,
                                                       double* matmul_peak_gflops = nullptr);

/// The rows as an aligned text table (markdown-compatible), headed by the input shape, device and matmul peak.
std::string format_encoder_table(const EncoderBenchmarkOptions& options, const std::vector<EncoderBenchmarkRow>& rows,
                                 double matmul_peak_gflops);

}  // namespace ssl::trainers
