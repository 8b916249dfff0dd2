#pragma once
#include "sslkit/data/sources/source.h"
#include "sslkit/ssl/device.h"
#include "sslkit/trainers/distributed.h"
#include "sslkit/trainers/loop.h"
#include "sslkit/trainers/methods/registry.h"

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
  /// Data spec: "fashion-mnist", a folder of MNIST-format IDX files, an .h5 file or an image folder.
  TORCH_ARG(std::string, data) = "fashion-mnist";
  /// How an image folder is decoded (size, channels, unreadable files).
  TORCH_ARG(data::SourceOptions, source) = {};
  /// Use only the first N training images (0: all).
  TORCH_ARG(int64_t, max_images) = 0;
  /// Pretext method name (see `method_names`).
  TORCH_ARG(std::string, method) = "simclr";
  /// Every method's hyper-parameters; the run uses those of `method`.
  TORCH_ARG(MethodOptions, methods) = {};
  /// Encoder name from the registry.
  TORCH_ARG(std::string, encoder) = kDefaultEncoder;
  /// ResNet stem: auto | cifar | imagenet (`EncoderOptions::stem`).
  TORCH_ARG(std::string, stem) = "auto";
  /// Vision Transformer patch side (0: by image size; `EncoderOptions::patch_size`).
  TORCH_ARG(int64_t, patch_size) = 0;
  /// The training loop: run directory, budgets, optimizer, schedule, precision, logging and checkpoints.
  TORCH_ARG(LoopOptions, loop) = {};
  /// Images per batch (per process in a data-parallel run).
  TORCH_ARG(int64_t, batch_size) = 256;
  /// Loader worker threads.
  TORCH_ARG(int64_t, workers) = 1;
  /// Batches the loader may prepare ahead.
  TORCH_ARG(int64_t, prefetch) = 4;
  /// Seed of weights, data order and augmentations.
  TORCH_ARG(uint64_t, seed) = 0;
  /// The device to train on.
  TORCH_ARG(DeviceSpec, device) = {};
  /// Continue the run in `loop.out_dir` from its checkpoint (same seeds, data order, optimizer and RNG state).
  /// Options that change the run's meaning must equal the recorded ones.
  TORCH_ARG(bool, resume) = false;
  /// Start a new run in a directory that holds one, removing the old run's checkpoint, metrics, options and
  /// probe results first (without it, and without `resume`, such a directory is refused).
  TORCH_ARG(bool, overwrite) = false;
  /// Score the encoder with a weighted kNN classifier (k = 200, cosine, t = 0.1) at the end of every epoch.
  TORCH_ARG(bool, knn_monitor) = false;
  /// Images of each labelled split the kNN monitor uses: the first N of train (the bank) and of test (0: all).
  TORCH_ARG(int64_t, knn_subset) = 5000;
  /// Data-parallel processes (rank, world size, rendezvous, backend, SyncBN); world size 1 is one process.
  TORCH_ARG(DistributedOptions, distributed) = {};
  /// Options as the user gave them, recorded in options.ini and in the checkpoint metadata as option.<name>.
  TORCH_ARG(OptionStrings, recorded_options) = {};
};

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
