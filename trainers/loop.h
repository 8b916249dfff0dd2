#pragma once
#include "sslkit/data/dataset.h"
#include "sslkit/data/loader.h"
#include "sslkit/ssl/checkpoint.h"
#include "sslkit/trainers/distributed.h"
#include "sslkit/trainers/eval/knn.h"
#include "sslkit/trainers/method.h"
#include "sslkit/trainers/pretrain.h"

#include <map>
#include <string>

namespace ssl::trainers {

/// Labelled images the kNN monitor scores the encoder on at the end of every epoch.
struct KnnMonitorData {
  /// The memory bank: images and labels whose features vote.
  data::ImageSet train;
  /// The images classified.
  data::ImageSet test;
  /// Normalization applied before the encoder.
  data::Normalization norm;
  /// k, temperature (defaults: 200, 0.1, Wu et al. 2018).
  eval::KnnOptions options;
};

/// kNN accuracy on `data.test` with `encoder`'s features (computed in eval mode; the mode is restored after).
double knn_monitor_accuracy(EncoderImpl& encoder, const KnnMonitorData& data, torch::Device device);

/// The training loop shared by every method: warmup + cosine schedule over the step or time budget,
/// autocast precision with fp16 loss scaling, gradient clipping, the NaN guard, checkpoints with trainer state
/// (every `checkpoint_every` steps, each epoch end, the end of the run), resume from `resume_from`, SIGINT and
/// SIGTERM handling, the kNN monitor, the progress line and metrics.jsonl / metrics.csv in `options.out_dir()`.
/// `metadata` describes the encoder and data in every checkpoint; `monitor` may be null. `pretrain` validates
/// the options and checks `resume_from` against them before calling it.
/// With a `group` of several ranks the loop is data parallel: `loader` reads shard `group->rank()` of
/// `group->world_size()`, rank 0's weights are broadcast first, gradients are averaged over the ranks after
/// every backward pass, the ranks agree on when to stop, and rank 0 alone writes the run directory and progress.
PretrainResult train_loop(Method& method, data::Loader& loader, const PretrainOptions& options,
                          const std::map<std::string, std::string>& metadata, const KnnMonitorData* monitor = nullptr,
                          const Checkpoint* resume_from = nullptr, std::shared_ptr<ProcessGroup> group = nullptr);

}  // namespace ssl::trainers
