#pragma once
#include <torch/arg.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ssl::eval {

/// One row of `sslkit report`: a run (or a baseline probed on its data) and its numbers; NaN / -1 where
/// the run directory does not say.
struct RunSummary {
  /// The run directory as given.
  std::string run;
  /// What was probed: encoder (the trained one), random-init or raw.
  std::string features = "encoder";
  /// Pretext method (options.ini `method`).
  std::string method;
  /// Encoder name (options.ini `encoder`).
  std::string encoder;
  /// Epochs started (last metrics.jsonl row's epoch + 1); -1 when unknown.
  int64_t epochs = -1;
  /// Optimizer steps (last metrics.jsonl row); -1 when unknown.
  int64_t steps = -1;
  /// Training images per second over the run (last metrics.jsonl row).
  double images_per_second;
  /// Linear-probe test top-1 with all labels.
  double probe;
  /// kNN test top-1 with all labels.
  double knn;
  /// Linear-probe test top-1 by label fraction (< 1).
  std::map<double, double> low_label;
  /// Mean IoU of the dense (segmentation) probe.
  double mean_iou;
  RunSummary();
};

/// Reads RUN_DIR/options.ini, metrics.jsonl and the results `evaluate` saved there (named by `probe_json_name`):
/// probe.json (the run's encoder), probe-sgd-augment.json, probe-random-init.json and probe-raw.json, each but
/// sgd-augment with its probe-segmentation[-FEATURES].json for the mIoU column. One summary for the encoder, then
/// one per other result found. Throws naming the directory when it is not one or holds none of these files.
std::vector<RunSummary> read_run_summaries(const std::string& run_dir);

/// The `key = value` lines of an options.ini (comments and blank lines skipped, both sides trimmed); empty when
/// the file is missing.
std::map<std::string, std::string> read_options_ini(const std::string& path);

/// The report as cells: a header row (run, features, method, encoder, epochs, img/s, probe top-1, kNN top-1, one
/// column per label fraction, seg mIoU when any run has it), then one row per summary; "-" for unknown values and
/// accuracies in percent with 2 decimals.
std::vector<std::vector<std::string>> report_table(const std::vector<RunSummary>& runs);

/// Table layouts of `format_report`.
enum class ReportFormat { Text, Markdown, Csv };

/// Parses "text", "markdown" or "csv"; throws listing them otherwise.
ReportFormat parse_report_format(const std::string& name);

/// One table comparing the runs: run, features, method, encoder, epochs, img/s, probe, kNN, one column per
/// label fraction any run has, and mIoU when any run has it. Accuracies in percent with 2 decimals; "-" for
/// unknown values (empty in CSV).
std::string format_report(const std::vector<RunSummary>& runs, ReportFormat format);

/// Options of `report`.
struct ReportOptions {
  /// Run directories, one or more rows each (see `read_run_summaries`), in this order.
  TORCH_ARG(std::vector<std::string>, runs) = {};
  /// Table layout.
  TORCH_ARG(ReportFormat, format) = ReportFormat::Text;
};

/// The table comparing the runs: `format_report` of every run's `read_run_summaries`.
std::string report(const ReportOptions& options);

}  // namespace ssl::eval
