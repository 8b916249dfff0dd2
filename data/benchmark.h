#pragma once
#include "sslkit/data/sources/source.h"

#include <torch/arg.h>

#include <memory>
#include <string>
#include <vector>

namespace ssl::data {

/// What `run_data_benchmark` measures.
struct DataBenchmarkOptions {
  /// Registered view names to time.
  TORCH_ARG(std::vector<std::string>, views) = {"two-views", "rotations", "patch-grid", "jigsaw", "relative-patch"};
  /// Loader worker-thread counts to time each view with.
  TORCH_ARG(std::vector<int64_t>, workers) = {1, 2};
  /// Images per batch.
  TORCH_ARG(int64_t, batch_size) = 256;
  /// Batches timed per (view, workers), after one untimed warm-up batch.
  TORCH_ARG(int64_t, batches) = 100;
  /// Loader seed.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// One measurement: a view type through the Loader with some worker threads.
struct DataBenchmarkRow {
  /// View name.
  std::string view;
  /// Worker threads.
  int64_t workers = 0;
  /// Images delivered per second.
  double images_per_second = 0;
  /// View tensors delivered per second (images x views per image).
  double views_per_second = 0;
  /// Float32 megabytes of views delivered per second.
  double megabytes_per_second = 0;
};

/// Times the Loader over `source` for every (view, workers) pair, normalizing with the source's statistics.
std::vector<DataBenchmarkRow> run_data_benchmark(std::shared_ptr<const Source> source,
                                                 const DataBenchmarkOptions& options);

/// The rows as an aligned text table.
std::string format_data_table(const std::vector<DataBenchmarkRow>& rows);

}  // namespace ssl::data
