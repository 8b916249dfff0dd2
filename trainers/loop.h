#pragma once
#include "sslkit/data/loader.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/distributed.h"
#include "sslkit/trainers/method.h"
#include "sslkit/trainers/optim.h"
#include "sslkit/trainers/precision.h"
#include "sslkit/trainers/progressive_resize.h"

#include <torch/arg.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

namespace ssl::trainers {

/// How the training loop runs, whatever the method: where it writes, when it stops, how it steps.
struct LoopOptions {
  /// Run directory: checkpoint.pt, metrics.jsonl, metrics.csv and metrics.png are written there.
  TORCH_ARG(std::string, out_dir) = "runs/simclr";
  /// Epochs to train (the schedule spans them unless the time budget ends first).
  TORCH_ARG(int64_t, epochs) = 100;
  /// Wall-clock budget in minutes for the training steps (0: none). The learning-rate schedule follows
  /// whichever of epochs and time is further along, so a budgeted run still ends its cosine decay.
  TORCH_ARG(double, max_minutes) = 10.0;
  /// Stop after this many steps (0: no limit); for tests and benchmarks.
  TORCH_ARG(int64_t, max_steps) = 0;
  /// Optimizer and its hyper-parameters (Adam 2e-3, docs/results.md).
  TORCH_ARG(OptimizerOptions, optimizer) = OptimizerOptions().lr(2e-3);
  /// Fraction of the run spent in linear learning-rate warmup.
  TORCH_ARG(double, warmup_fraction) = 0.02;
  /// Progressive resizing of the crop views over the run (off by default).
  TORCH_ARG(ProgressiveResizeOptions, progressive_resize) = {};
  /// Forward-pass precision: fp32, bf16 (CUDA or CPU autocast) or fp16 (CUDA, dynamic loss scaling).
  TORCH_ARG(Precision, precision) = Precision::FP32;
  /// Clip the gradients' global L2 norm to this value (0: no clipping).
  TORCH_ARG(double, clip_grad_norm) = 0.0;
  /// Write a metrics line every N steps.
  TORCH_ARG(int64_t, log_every) = 20;
  /// Also write the checkpoint every N steps (0: only at the end of each epoch and of the run).
  TORCH_ARG(int64_t, checkpoint_every) = 0;
  /// Also keep every checkpoint the run writes (each `checkpoint_every` steps, each epoch end, the end) as
  /// `kept_checkpoint_name(step)`: what `sslkit bench accuracy` scores.
  TORCH_ARG(bool, keep_checkpoints) = false;
  /// Show the progress line on stderr.
  TORCH_ARG(bool, progress) = false;
};

/// The file name of the checkpoint kept at optimizer step `step`: "checkpoint-step-S.pt".
std::string kept_checkpoint_name(int64_t step);

/// Throws one line naming the option and its accepted range when a loop option is out of range.
void validate(const LoopOptions& options);

/// What a finished run reports.
struct PretrainResult {
  /// Path of the final checkpoint.
  std::string checkpoint;
  /// Epochs done: optimizer steps / steps per epoch (fractional when a budget ended an epoch).
  double epochs = 0;
  /// Optimizer steps taken.
  int64_t steps = 0;
  /// Mean loss over the last logged window.
  double final_loss = 0;
  /// Training images per second (one image = one sample, whatever its number of views).
  double images_per_second = 0;
  /// Wall-clock seconds spent in the training loop.
  double seconds = 0;
  /// The device trained on.
  std::string device;
  /// The precision that ran, e.g. "bf16 (CPU autocast)".
  std::string precision;
  /// The step the run resumed from (0 for a fresh run).
  int64_t resumed_from_step = 0;
  /// The signal (SIGINT, SIGTERM) that stopped the run after a checkpoint, 0 when it ran to its end.
  int signal = 0;
  /// Checkpoints written and the seconds spent writing them.
  int64_t checkpoints = 0;
  /// Seconds spent building and writing checkpoints.
  double checkpoint_seconds = 0;
  /// Last kNN-monitor accuracy (negative when the monitor is off).
  double knn_accuracy = -1;
  /// This process's rank (0 in a single-process run); only rank 0 writes the run directory and reports.
  int64_t rank = 0;
};
/// Scores the encoder at the end of every epoch (for example the kNN monitor's accuracy in [0, 1]); called on
/// the writing rank only, with the encoder in training mode, which it must leave as it found it.
using EpochMonitor = std::function<double(EncoderImpl& encoder)>;

/// The training loop shared by every method. Its phases, each a member of the Trainer in loop.cpp: set up
/// (optimizer, precision, loss scaler) or resume from `resume_from` (weights, method state, optimizer, RNG,
/// loss scale, metrics truncated to its step); then per step: step (warmup + cosine learning rate, autocast
/// forward, NaN guard, backward, gradient averaging over the ranks, clipping, optimizer), log (metrics.jsonl
/// every `log_every` steps and at epoch ends, the progress line, the `monitor` at epoch ends), checkpoint
/// (every `checkpoint_every` steps, each epoch end and the end of the run) and stop (the step or time budget,
/// SIGINT or SIGTERM after a checkpoint).
/// `metadata` describes the encoder and data in every checkpoint; `monitor` may be empty.
/// With a `group` of several ranks the loop is data parallel: `loader` reads shard `group->rank()` of
/// `group->world_size()`, rank 0's weights are broadcast first, gradients are averaged over the ranks after
/// every backward pass, the ranks agree on when to stop, and rank 0 alone writes the run directory and progress.
PretrainResult train_loop(Method& method, data::Loader& loader, const LoopOptions& options,
                          const CheckpointMetadata& metadata, const EpochMonitor& monitor = {},
                          const Checkpoint* resume_from = nullptr, std::shared_ptr<ProcessGroup> group = nullptr);

}  // namespace ssl::trainers
