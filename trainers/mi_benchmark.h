#pragma once
#include <torch/arg.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace ssl::trainers {

/// Options of the mutual-information benchmark of Poole et al. 2019: correlated Gaussians x, y in R^dim with
/// y = rho x + sqrt(1 - rho^2) eps per coordinate, whose MI is -(dim / 2) log(1 - rho^2) nats.
struct MIBenchmarkOptions {
  /// Dimension d of x and y.
  TORCH_ARG(int64_t, dim) = 20;
  /// Pairs per batch N (the InfoNCE estimate cannot exceed log N).
  TORCH_ARG(int64_t, batch_size) = 64;
  /// Adam steps per (bound, true MI) run, each on a fresh batch.
  TORCH_ARG(int64_t, steps) = 3000;
  /// The estimate and its variance are taken over this many last steps (at most `steps`).
  TORCH_ARG(int64_t, average_last) = 200;
  /// Adam learning rate.
  TORCH_ARG(double, lr) = 5e-4;
  /// True MI values in nats, one run per value and bound.
  TORCH_ARG(std::vector<double>, true_mi) = std::vector<double>{2, 4, 6, 8, 10};
  /// Bounds to train, from `mi_bound_names()`.
  TORCH_ARG(std::vector<std::string>, bounds) = std::vector<std::string>{"infonce", "nwj", "js", "dv", "mine"};
  /// Critic architecture: "separable" or "concat".
  TORCH_ARG(std::string, critic) = "separable";
  /// Hidden width of the critic MLPs.
  TORCH_ARG(int64_t, hidden_dim) = 256;
  /// Hidden layers of the critic MLPs.
  TORCH_ARG(int64_t, layers) = 2;
  /// Embedding size of the separable critic.
  TORCH_ARG(int64_t, embed_dim) = 32;
  /// Device spec ("auto", "cpu", "cuda", "cuda:N").
  TORCH_ARG(std::string, device) = "cpu";
  /// Seed of the critic initialization and of the samples.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// One (bound, true MI) run of the MI benchmark.
struct MIBenchmarkRow {
  /// Bound the critic was trained with.
  std::string bound;
  /// Critic architecture.
  std::string critic;
  /// True MI in nats.
  double true_mi = 0;
  /// Mean estimate over the last steps, in nats.
  double estimate = 0;
  /// Variance of the per-batch estimates over the last steps.
  double variance = 0;
  /// Wall-clock seconds of the run.
  double seconds = 0;
};

/// The bounds `run_mi_benchmark` knows: infonce, nwj, js (trained with the JSD objective, estimated with NWJ at
/// scores + 1), dv (Donsker-Varadhan, plain minibatch gradient) and mine (DV with the moving-average correction).
std::vector<std::string> mi_bound_names();

/// The correlation rho that gives `mi` nats between d-dimensional x and y: rho = sqrt(1 - exp(-2 mi / d)).
double correlation_for_mi(double mi, int64_t dim);

/// Trains a fresh critic per (bound, true MI) with Adam and reports each estimate; calls `on_row` (when set)
/// as each row completes. Throws naming the valid choices for an unknown bound or critic.
std::vector<MIBenchmarkRow> run_mi_benchmark(const MIBenchmarkOptions& options,
                                             const std::function<void(const MIBenchmarkRow&)>& on_row = {});

/// The rows as an aligned text table with log N for reference.
std::string format_mi_table(const std::vector<MIBenchmarkRow>& rows, int64_t batch_size);

/// Options of the loss micro-benchmark: forward + backward time of each loss on random [N, D] embeddings.
struct LossBenchmarkOptions {
  /// Batch sizes N.
  TORCH_ARG(std::vector<int64_t>, sizes) = std::vector<int64_t>{256, 1024, 4096};
  /// Embedding size D.
  TORCH_ARG(int64_t, dim) = 128;
  /// Timed repetitions per (loss, N); the median is reported.
  TORCH_ARG(int64_t, repeats) = 3;
  /// Shared negatives of the "info_nce+queue" case (a MoCo-style queue).
  TORCH_ARG(int64_t, queue_size) = 4096;
  /// Device spec ("auto", "cpu", "cuda", "cuda:N").
  TORCH_ARG(std::string, device) = "cpu";
  /// Seed of the random embeddings.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// One (loss, N) timing.
struct LossTiming {
  /// nt_xent, info_nce, info_nce+queue, barlow_twins, vicreg, negative_cosine, dino or sinkhorn+swap.
  std::string loss;
  /// Batch size N.
  int64_t n = 0;
  /// Embedding size D.
  int64_t d = 0;
  /// Median milliseconds of one forward + backward.
  double milliseconds = 0;
};

/// Times nt_xent (2N anchors), in-batch info_nce, info_nce against a queue, barlow_twins, vicreg, negative_cosine,
/// dino (2 student and 2 teacher crops, K = D) and sinkhorn+swap (SwAV codes of one view against the softmax of the
/// other, K = D) at each size, after one warm-up. Sizes must be >= 2 (barlow_twins and vicreg need batch statistics).
std::vector<LossTiming> run_loss_benchmark(const LossBenchmarkOptions& options,
                                           const std::function<void(const LossTiming&)>& on_row = {});

/// The timings as an aligned text table.
std::string format_loss_table(const std::vector<LossTiming>& rows);

/// An aligned text table: columns padded to their widest cell, the header underlined, numbers right-aligned.
std::string format_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

}  // namespace ssl::trainers
