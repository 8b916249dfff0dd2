#pragma once
// `sslkit report --html`: runs side by side in one self-contained page (inline CSS, SVG charts and PNG data URIs;
// no script, no network).
#include <torch/arg.h>

#include <string>
#include <vector>

namespace ssl::eval {

/// Options of `html_report`.
struct HtmlReportOptions {
  /// Run directories, in this order.
  TORCH_ARG(std::vector<std::string>, runs) = {};
  /// Heading and <title> of the page.
  TORCH_ARG(std::string, title) = "sslkit report";
};

/// The page: the results table of `report`, the options that differ between the runs, training curves (loss,
/// learning rate, images/s, kNN accuracy against step and against wall-clock minutes, every run on each chart),
/// then per run its views, probe results by label fraction and protocol, per-class accuracy, the confusion matrix as
/// a heat map with class names, retrieval scores and the 2-D maps, and a list of the results it lacks with the
/// command that makes each. Throws naming a run directory that is not one (as `read_run_summaries`).
std::string html_report(const HtmlReportOptions& options);

/// Writes `html_report` to `path` atomically.
void write_html_report(const HtmlReportOptions& options, const std::string& path);

/// `text` with & < > " ' escaped for HTML text and attribute values.
std::string html_escape(const std::string& text);

/// Standard base64 (RFC 4648, padded) of `bytes`.
std::string base64(const std::string& bytes);

/// Tick positions for an axis over [low, high]: multiples of 1, 2 or 5 times a power of ten, about `count` of them,
/// all within the range (at least the two ends' ticks when the range is empty or tiny).
std::vector<double> nice_ticks(double low, double high, int count = 5);

}  // namespace ssl::eval
