#pragma once
#include "sslkit/data/sources/source.h"
#include "sslkit/trainers/distributed.h"
#include "sslkit/trainers/methods/cpc.h"
#include "sslkit/trainers/methods/instdisc.h"
#include "sslkit/trainers/methods/jigsaw.h"
#include "sslkit/trainers/methods/moco.h"
#include "sslkit/trainers/methods/relpos.h"
#include "sslkit/trainers/methods/rotnet.h"
#include "sslkit/trainers/methods/simclr.h"
#include "sslkit/trainers/optim.h"

#include <torch/arg.h>

#include <functional>
#include <map>
#include <string>

namespace ssl::trainers {

/// Option names to their values as text.
using OptionStrings = std::map<std::string, std::string>;

/// Everything a pretraining run needs; the defaults train SimCLR / convnet-w on Fashion-MNIST for at most
/// 10 minutes.
struct PretrainOptions {
  /// Run directory: checkpoint.pt, metrics.jsonl and options.ini are written there.
  TORCH_ARG(std::string, out_dir) = "runs/simclr";
  /// Data spec: "fashion-mnist", a folder of MNIST-format IDX files, an .h5 file or an image folder.
  TORCH_ARG(std::string, data) = "fashion-mnist";
  /// How an image folder is decoded (size, channels, unreadable files).
  TORCH_ARG(data::SourceOptions, source) = {};
  /// Use only the first N training images (0: all).
  TORCH_ARG(int64_t, max_images) = 0;
  /// Pretext method name.
  TORCH_ARG(std::string, method) = "simclr";
  /// Encoder name from the registry.
  TORCH_ARG(std::string, encoder) = kDefaultEncoder;
  /// Epochs to train (the schedule spans them unless the time budget ends first).
  TORCH_ARG(int64_t, epochs) = 100;
  /// Wall-clock budget in minutes for the training steps (0: none). The learning-rate schedule follows
  /// whichever of epochs and time is further along, so a budgeted run still ends its cosine decay.
  TORCH_ARG(double, max_minutes) = 10.0;
  /// Stop after this many steps (0: no limit); for tests and benchmarks.
  TORCH_ARG(int64_t, max_steps) = 0;
  /// Images per batch.
  TORCH_ARG(int64_t, batch_size) = 256;
  /// Optimizer and its hyper-parameters (Adam 2e-3: +0.4 points of probe accuracy over 1e-3 after 2 epochs).
  TORCH_ARG(OptimizerOptions, optimizer) = OptimizerOptions().lr(2e-3);
  /// Fraction of the run spent in linear learning-rate warmup.
  TORCH_ARG(double, warmup_fraction) = 0.02;
  /// SimCLR hyper-parameters.
  TORCH_ARG(SimCLROptions, simclr) = {};
  /// MoCo hyper-parameters.
  TORCH_ARG(MoCoOptions, moco) = {};
  /// Instance discrimination hyper-parameters.
  TORCH_ARG(InstDiscOptions, instdisc) = {};
  /// RotNet hyper-parameters.
  TORCH_ARG(RotNetOptions, rotnet) = {};
  /// Jigsaw hyper-parameters.
  TORCH_ARG(JigsawMethodOptions, jigsaw) = {};
  /// Relative-position hyper-parameters.
  TORCH_ARG(RelPosOptions, relpos) = {};
  /// CPC hyper-parameters.
  TORCH_ARG(CPCMethodOptions, cpc) = {};
  /// Loader worker threads.
  TORCH_ARG(int64_t, workers) = 1;
  /// Batches the loader may prepare ahead.
  TORCH_ARG(int64_t, prefetch) = 4;
  /// Seed of weights, data order and augmentations.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Device spec: auto, cpu, cuda, cuda:N.
  TORCH_ARG(std::string, device) = "auto";
  /// Write a metrics line every N steps.
  TORCH_ARG(int64_t, log_every) = 20;
  /// Show the progress line on stderr.
  TORCH_ARG(bool, progress) = false;
  /// Forward-pass precision: "fp32", "bf16" (CUDA or CPU autocast) or "fp16" (CUDA, dynamic loss scaling).
  TORCH_ARG(std::string, precision) = "fp32";
  /// Clip the gradients' global L2 norm to this value (0: no clipping).
  TORCH_ARG(double, clip_grad_norm) = 0.0;
  /// Also write the checkpoint every N steps (0: only at the end of each epoch and of the run).
  TORCH_ARG(int64_t, checkpoint_every) = 0;
  /// Continue the run in `out_dir` from its checkpoint (same seeds, data order, optimizer and RNG state).
  /// Options that change the run's meaning must equal the recorded ones.
  TORCH_ARG(bool, resume) = false;
  /// Score the encoder with a weighted kNN classifier (k = 200, cosine, t = 0.1) at the end of every epoch.
  TORCH_ARG(bool, knn_monitor) = false;
  /// Images of each labelled split the kNN monitor uses: the first N of train (the bank) and of test (0: all).
  TORCH_ARG(int64_t, knn_subset) = 5000;
  /// Data-parallel processes (rank, world size, rendezvous, backend, SyncBN); world size 1 is one process.
  TORCH_ARG(DistributedOptions, distributed) = {};
  /// Options as the user gave them, recorded in the checkpoint metadata as option.<name>.
  TORCH_ARG(OptionStrings, recorded_options) = {};
};

/// What a finished run reports.
struct PretrainResult {
  /// Path of the final checkpoint.
  std::string checkpoint;
  /// Epochs started (the last may be partial when a budget ended the run).
  int64_t epochs = 0;
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

/// The method names `pretrain` accepts.
std::vector<std::string> method_names();

/// Builds the method `options.method()` around `encoder` for a training set of `num_images` images (the rows of
/// instdisc's memory bank); `another_encoder` makes an encoder of the same architecture (moco's key encoder).
/// Throws listing the valid names.
std::unique_ptr<Method> make_method(const PretrainOptions& options, Encoder encoder, int64_t num_images,
                                    const std::function<Encoder()>& another_encoder);

/// Builds the encoder `options.encoder()` for images of `train_set`'s shape and the method around it.
std::unique_ptr<Method> make_method(const PretrainOptions& options, const data::Source& train_set);

/// Loads the data, trains, writes the run directory (checkpoint written atomically every epoch, every
/// `checkpoint_every` steps and at the end); with `resume`, continues the run found there. A SIGINT or SIGTERM
/// ends the run after the current step and a checkpoint, with `PretrainResult::signal` set.
PretrainResult pretrain(const PretrainOptions& options);

}  // namespace ssl::trainers
