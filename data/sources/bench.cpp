#include "sslkit/data/sources/bench.h"

#include "sslkit/data/rng.h"

#include <chrono>
#include <cstdio>
#include <numeric>

namespace ssl::data {
namespace {

std::vector<SourceBenchmarkRow> time_source(const Source& source, const std::string& name,
                                            const SourceBenchmarkOptions& options) {
  const int64_t n = source.size(), reads = options.reads(), bytes = source.image_bytes();
  const int64_t batch = std::max<int64_t>(1, options.batch_size());
  std::vector<int64_t> random(static_cast<size_t>(reads));
  Rng rng(options.seed(), 0, 0, /*stream=*/0xbe9c);
  for (auto& index : random) index = rng.integer(0, n - 1);
  std::vector<uint8_t> pixels(static_cast<size_t>(batch * bytes));
  std::vector<int64_t> labels(static_cast<size_t>(batch));
  auto timed = [&](const char* access, auto&& body) {
    const auto start = std::chrono::steady_clock::now();
    body();
    return SourceBenchmarkRow{name, access, reads,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
  };
  std::vector<SourceBenchmarkRow> rows;
  rows.push_back(timed("random get", [&] {
    for (int64_t k = 0; k < reads; ++k) source.read(&random[static_cast<size_t>(k)], 1, pixels.data(), labels.data());
  }));
  rows.push_back(timed("random batch", [&] {
    for (int64_t k = 0; k < reads; k += batch) {
      source.read(random.data() + k, std::min(batch, reads - k), pixels.data(), labels.data());
    }
  }));
  std::vector<int64_t> sequential(static_cast<size_t>(batch));
  rows.push_back(timed("sequential", [&] {
    for (int64_t k = 0; k < reads; k += batch) {
      const int64_t count = std::min(batch, reads - k);
      for (int64_t i = 0; i < count; ++i) sequential[static_cast<size_t>(i)] = (k + i) % n;
      source.read(sequential.data(), count, pixels.data(), labels.data());
    }
  }));
  return rows;
}

}  // namespace

std::vector<SourceBenchmarkRow> run_source_benchmark(const Source& source, const SourceBenchmarkOptions& options) {
  TORCH_CHECK(options.reads() > 0, "bench sources: reads must be > 0, got ", options.reads());
  auto rows = time_source(source, source.origin(), options);
  if (options.compare_memory()) {
    const MemorySource memory(materialize(source));
    auto memory_rows = time_source(memory, "memory", options);
    rows.insert(rows.begin(), memory_rows.begin(), memory_rows.end());
  }
  return rows;
}

std::string format_source_table(const std::vector<SourceBenchmarkRow>& rows) {
  size_t width = 6;
  for (const auto& row : rows) width = std::max(width, row.source.size());
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-*s  %-12s  %9s  %9s  %12s\n", static_cast<int>(width), "source", "access",
                "images", "seconds", "images/s");
  out += line;
  for (const auto& row : rows) {
    std::snprintf(line, sizeof line, "%-*s  %-12s  %9lld  %9.3f  %12.0f\n", static_cast<int>(width),
                  row.source.c_str(), row.access.c_str(), static_cast<long long>(row.images), row.seconds,
                  row.seconds > 0 ? static_cast<double>(row.images) / row.seconds : 0.0);
    out += line;
  }
  return out;
}

}  // namespace ssl::data
