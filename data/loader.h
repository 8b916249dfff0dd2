#pragma once
#include "sslkit/data/dataset.h"
#include "sslkit/data/sources/source.h"
#include "sslkit/data/views/view_maker.h"

#include <torch/arg.h>
#include <torch/types.h>

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace ssl::data {

/// One batch of pretext inputs.
struct Batch {
  /// `ViewMaker::num_views()` tensors, each float [B, C, H, W].
  std::vector<torch::Tensor> views;
  /// int64 pretext targets: [B] for one per image, [B, T] for T per image (undefined when the view maker has none).
  torch::Tensor targets;
  /// int64 [B] data-set labels (undefined for unlabelled sources).
  torch::Tensor labels;
  /// int64 [B] indices of the source images.
  torch::Tensor indices;
  /// Which step of the epoch this batch is.
  int64_t step = 0;
};

/// Options of the `Loader`.
struct LoaderOptions {
  explicit LoaderOptions(int64_t batch_size) : batch_size_(batch_size) {}
  /// Images per batch.
  TORCH_ARG(int64_t, batch_size);
  /// Worker threads making views; 0 makes them on the calling thread.
  TORCH_ARG(int64_t, workers) = 1;
  /// Finished batches that may wait in the queue.
  TORCH_ARG(int64_t, prefetch) = 4;
  /// Shuffle the order every epoch (seeded by seed and epoch).
  TORCH_ARG(bool, shuffle) = true;
  /// Drop the last incomplete batch of an epoch.
  TORCH_ARG(bool, drop_last) = true;
  /// Seed of the order and of every augmentation.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Device batches are delivered on (pinned memory and non-blocking copies for CUDA).
  TORCH_ARG(torch::Device, device) = torch::kCPU;
  /// Data-parallel shards: step s of shard r holds images [(s N + r) B, (s N + r + 1) B) of the epoch's order,
  /// so the N shards of a step together are the batch of N B images one loader would give (needs drop_last).
  TORCH_ARG(int64_t, num_shards) = 1;
  /// This loader's shard, in 0..num_shards-1.
  TORCH_ARG(int64_t, shard) = 0;
};

/// Batches views of a source through a view maker on worker threads with a bounded prefetch queue.
/// Deterministic: the batch for (seed, epoch, step) is the same whatever the number of workers.
class Loader {
 public:
  Loader(std::shared_ptr<const Source> source, std::shared_ptr<const ViewMaker> maker, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// Batches in one epoch (per shard).
  int64_t batches_per_epoch() const;
  /// Starts (or restarts) delivering the batches of `epoch` from step `first_step`.
  void start_epoch(int64_t epoch, int64_t first_step = 0);
  /// The next batch of the current epoch, or nothing at its end. Rethrows a worker's exception.
  std::optional<Batch> next();
  /// Builds batch `step` of `epoch` on the calling thread (what workers run), on CPU.
  Batch make_batch(int64_t epoch, int64_t step) const;
  /// The images the batches come from.
  const Source& source() const { return *source_; }
  /// The view maker the batches come from.
  const ViewMaker& view_maker() const { return *maker_; }
  /// The options the loader was built with.
  const LoaderOptions& options() const { return options_; }

 private:
  void stop_workers();
  void worker_loop();
  std::vector<int64_t> epoch_order(int64_t epoch) const;
  Batch to_device(Batch batch) const;

  std::shared_ptr<const Source> source_;
  std::shared_ptr<const ViewMaker> maker_;
  LoaderOptions options_;
  bool pin_memory_ = false;

  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
  std::mutex mutex_;
  std::condition_variable ready_cv_, space_cv_;
  std::map<int64_t, Batch> ready_;
  int64_t next_to_make_ = 0;
  int64_t next_to_deliver_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> workers_;
};

}  // namespace ssl::data
