#pragma once
#include "sslkit/data/sources/source.h"

#include <torch/arg.h>

#include <string>
#include <vector>

namespace ssl::data {

/// Options of the source read benchmark.
struct SourceBenchmarkOptions {
  /// Images read per access pattern.
  TORCH_ARG(int64_t, reads) = 20000;
  /// Images per bulk read in the "random batch" pattern (what one loader batch reads).
  TORCH_ARG(int64_t, batch_size) = 256;
  /// Seed of the random indices.
  TORCH_ARG(uint64_t, seed) = 0;
  /// Also time an in-memory copy of the source (it must fit in memory).
  TORCH_ARG(bool, compare_memory) = true;
};

/// One (source, access pattern) timing.
struct SourceBenchmarkRow {
  /// "memory" or the source's origin.
  std::string source;
  /// random get | random batch | sequential.
  std::string access;
  /// Images read.
  int64_t images = 0;
  /// Wall-clock seconds.
  double seconds = 0;
};

/// Times random single-image reads, random batches and sequential blocks from `source` (and from its in-memory
/// copy when asked), on the calling thread.
std::vector<SourceBenchmarkRow> run_source_benchmark(const Source& source, const SourceBenchmarkOptions& options);

/// The rows as an aligned text table with images/s.
std::string format_source_table(const std::vector<SourceBenchmarkRow>& rows);

}  // namespace ssl::data
