#pragma once
// Minutes to a linear-probe accuracy: the checkpoints a run kept (`--keep-checkpoints`) scored by the linear probe,
// and the training time from which on each target accuracy holds.
#include "sslkit/trainers/eval/evaluate.h"

#include <torch/arg.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace ssl::trainers {

/// Options of `time_to_accuracy`.
struct TimeToAccuracyOptions {
  /// The run directory: its checkpoint-step-S.pt files.
  TORCH_ARG(std::string, run_dir) = "";
  /// Target test accuracies in (0, 1].
  TORCH_ARG(std::vector<double>, targets) = std::vector<double>{0.88, 0.90, 0.91};
  /// The probe (its checkpoint, task and protocol are set per checkpoint: classification, L-BFGS, all labels).
  TORCH_ARG(eval::EvalOptions, probe) = eval::EvalOptions().knn_k(0);
  /// Side of the matrices of the fp32 matmul peak printed beside the minutes.
  TORCH_ARG(int64_t, matmul_size) = 2048;
};

/// One scored checkpoint.
struct ScoredCheckpoint {
  /// The checkpoint file.
  std::string path;
  /// Optimizer steps at the checkpoint.
  int64_t step = 0;
  /// Epochs trained at the checkpoint (steps / steps per epoch).
  double epochs = 0;
  /// Minutes of the training loop when it was written (its clock: steps, logging and checkpoints; not the
  /// set-up before the first step).
  double minutes = 0;
  /// Linear-probe test accuracy; negative when it was not probed (see `time_to_accuracy`).
  double accuracy = -1;
};

/// What `time_to_accuracy` found.
struct TimeToAccuracyResult {
  /// Every kept checkpoint of the run in step order, with the accuracies probed.
  std::vector<ScoredCheckpoint> checkpoints;
  /// Per target (in the order asked): the minutes of the earliest checkpoint from which on every checkpoint
  /// reaches it; negative when the last one does not.
  std::vector<double> minutes_to_target;
  /// "method/encoder" and the precision that ran, from the last checkpoint.
  std::string model, precision;
  /// The batch size the run recorded (its --batch-size); 0 when it recorded none.
  int64_t batch_size = 0;
  /// fp32 matmul GFLOP/s measured now, on the probe's device.
  double matmul_peak_gflops = 0;
  /// Seconds spent probing.
  double probe_seconds = 0;
};

/// Scores the run's checkpoints from the last one backwards until one falls below every target (earlier ones
/// cannot change any target's minutes, as these count from where the accuracy stays at or above the target),
/// and returns the minutes to each target. Throws one line when the run directory kept no checkpoints.
TimeToAccuracyResult time_to_accuracy(const TimeToAccuracyOptions& options);

/// The result as the table `sslkit bench accuracy` prints.
std::string format_time_to_accuracy(const TimeToAccuracyOptions& options, const TimeToAccuracyResult& result);

}  // namespace ssl::trainers
