#include "sslkit/data/benchmark.h"

#include "sslkit/data/loader.h"
#include "sslkit/data/views/registry.h"

#include <c10/util/Exception.h>

#include <chrono>
#include <cstdio>

namespace ssl::data {

std::vector<DataBenchmarkRow> run_data_benchmark(std::shared_ptr<const Source> source,
                                                 const DataBenchmarkOptions& options) {
  TORCH_CHECK(options.batches() >= 1, "bench data: batches must be >= 1, got ", options.batches());
  TORCH_CHECK(source->size() >= options.batch_size() * (options.batches() + 1), "bench data: ",
              options.batches() + 1, " batches of ", options.batch_size(), " need ",
              options.batch_size() * (options.batches() + 1), " images, the data holds ", source->size());
  const Normalization norm = compute_normalization(*source);
  std::vector<DataBenchmarkRow> rows;
  for (const auto& name : options.views()) {
    const auto maker = make_view(name, norm);
    int64_t values_per_image = 0;  // over all views, which may differ in size (multi-crop)
    for (int64_t v = 0; v < maker->num_views(); ++v) {
      int64_t numel = 1;
      for (const auto d : maker->shape_of_view(v, source->channels(), source->height(), source->width())) numel *= d;
      values_per_image += numel;
    }
    for (const int64_t workers : options.workers()) {
      Loader loader(source, maker, LoaderOptions(options.batch_size()).workers(workers).seed(options.seed()));
      loader.start_epoch(0);
      TORCH_CHECK(loader.next().has_value(), "bench data: no warm-up batch");
      const auto start = std::chrono::steady_clock::now();
      for (int64_t b = 0; b < options.batches(); ++b) TORCH_CHECK(loader.next().has_value(), "bench data: epoch ended early");
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      DataBenchmarkRow row;
      row.view = name;
      row.workers = workers;
      row.images_per_second = static_cast<double>(options.batches() * options.batch_size()) / seconds;
      row.views_per_second = row.images_per_second * static_cast<double>(maker->num_views());
      row.megabytes_per_second = row.images_per_second * static_cast<double>(values_per_image) * 4.0 / 1e6;
      rows.push_back(row);
    }
  }
  return rows;
}

std::string format_data_table(const std::vector<DataBenchmarkRow>& rows) {
  std::string out;
  char line[160];
  std::snprintf(line, sizeof line, "%-16s %8s %12s %12s %10s\n", "view", "workers", "images/s", "views/s", "MB/s");
  out += line;
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "%-16s %8lld %12.0f %12.0f %10.1f\n", r.view.c_str(),
                  static_cast<long long>(r.workers), r.images_per_second, r.views_per_second, r.megabytes_per_second);
    out += line;
  }
  return out;
}

}  // namespace ssl::data
