#include "sslkit/trainers/eval/report.h"

#include "sslkit/trainers/eval/evaluate.h"
#include "sslkit/trainers/eval/metrics.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <regex>
#include <set>
#include <sstream>

namespace ssl::eval {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::map<std::string, std::string> read_options_ini(const std::string& path) {
  std::map<std::string, std::string> values;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    values[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return values;
}

namespace {

bool is_object(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  const auto last = text.find_last_not_of(" \t\r\n");
  return first != std::string::npos && text[first] == '{' && text[last] == '}';
}

// `key`'s value as a number in [0, 1], NaN when absent or null; a value that is neither refuses `path`.
double accuracy(const std::map<std::string, std::string>& fields, const std::string& key, const fs::path& path) {
  const double value = field_number(fields, key);
  const auto found = fields.find(key);
  const bool absent = found == fields.end() || found->second.empty();
  TORCH_CHECK(absent || (value >= 0 && value <= 1), "'", path.string(), "': ", key, " is '",
              absent ? "" : found->second, "', expected a number in [0, 1] (the file is damaged)");
  return value;
}

// Reads a probe JSON result into `summary`: top-level test/kNN accuracy and mean IoU, the label fractions.
// A file that is not a probe result (truncated, or edited into something else) is refused naming it.
void read_probe(const fs::path& path, RunSummary& summary) {
  const std::string json = read_text(path);
  const auto fields = parse_json_fields(json);
  TORCH_CHECK(is_object(json) && (fields.count("test_accuracy") || fields.count("mean_iou")), "'", path.string(),
              "': not a probe result (expected a JSON object with test_accuracy or mean_iou)");
  const auto fractions = json.find("\"label_fractions\":[");
  const double fraction = field_number(fields, "label_fraction");
  if (std::isnan(fraction) || fraction == 1.0) summary.probe = accuracy(fields, "test_accuracy", path);
  summary.knn = accuracy(fields, "knn_accuracy", path);
  summary.mean_iou = accuracy(fields, "mean_iou", path);
  if (fractions == std::string::npos) return;
  static const std::regex object(R"(\{[^{}]*\})");
  const std::string rest = json.substr(fractions, json.find(']', fractions) - fractions);
  for (auto it = std::sregex_iterator(rest.begin(), rest.end(), object); it != std::sregex_iterator(); ++it) {
    const auto row = parse_json_fields(it->str());
    const double fraction = field_number(row, "fraction");
    if (fraction < 1) summary.low_label[fraction] = accuracy(row, "test_accuracy", path);
  }
}

// One report row kind: its features column, the probe results it reads (`probe_json_name`), and whether a
// segmentation result belongs to it. The run's encoder first, then the baselines.
struct ProbeKind {
  const char* label;
  Features features;
  Protocol protocol;
  bool dense;
};
constexpr ProbeKind kProbeKinds[] = {{"encoder", Features::Encoder, Protocol::Lbfgs, true},
                                     {"sgd-augment", Features::Encoder, Protocol::SgdAugment, false},
                                     {"finetune", Features::Encoder, Protocol::FineTune, false},
                                     {"random-init-finetune", Features::RandomInit, Protocol::FineTune, false},
                                     {"random-init", Features::RandomInit, Protocol::Lbfgs, true},
                                     {"raw", Features::Raw, Protocol::Lbfgs, true}};

std::string percent(double value) {
  if (std::isnan(value)) return "-";
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", 100 * value);
  return text;
}

std::string fraction_header(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%g%% labels", 100 * fraction);
  return text;
}

// The last row of a metrics.jsonl (empty when there is none); a line that is not a row with a step refuses it.
std::string last_metrics_row(const fs::path& path) {
  std::ifstream metrics(path);
  std::string last;
  int64_t number_of_line = 0;
  for (std::string line; std::getline(metrics, line);) {
    ++number_of_line;
    if (line.empty()) continue;
    TORCH_CHECK(is_object(line) && parse_json_fields(line).count("step"), "'", path.string(), "' line ",
                number_of_line, ": not a metrics row (expected a JSON object with a step; the file is damaged)");
    last = line;
  }
  return last;
}

}  // namespace

RunSummary::RunSummary() : images_per_second(kNaN), probe(kNaN), knn(kNaN), mean_iou(kNaN) {}

std::vector<RunSummary> read_run_summaries(const std::string& run_dir) {
  const fs::path dir(run_dir);
  TORCH_CHECK(fs::is_directory(dir), "run directory '", run_dir, "' not found");
  RunSummary base;
  base.run = run_dir;
  const auto ini = read_options_ini((dir / "options.ini").string());
  if (ini.count("method")) base.method = ini.at("method");
  if (ini.count("encoder")) base.encoder = ini.at("encoder");
  const std::string last = last_metrics_row(dir / "metrics.jsonl");
  if (!last.empty()) {
    const auto row = parse_json_fields(last);
    const double epoch = field_number(row, "epoch"), step = field_number(row, "step");
    if (!std::isnan(epoch)) base.epochs = static_cast<int64_t>(epoch) + 1;
    if (!std::isnan(step)) base.steps = static_cast<int64_t>(step);
    base.images_per_second = field_number(row, "images_per_second");
  }
  const std::string own_probe = probe_json_name(Task::Classification, Features::Encoder, Protocol::Lbfgs);
  TORCH_CHECK(!ini.empty() || !last.empty() || fs::exists(dir / own_probe), "run directory '", run_dir,
              "' holds no options.ini, metrics.jsonl or ", own_probe);
  std::vector<RunSummary> out;
  for (const auto& kind : kProbeKinds) {
    const fs::path classification = dir / probe_json_name(Task::Classification, kind.features, kind.protocol);
    const fs::path segmentation = dir / probe_json_name(Task::Segmentation, kind.features, kind.protocol);
    const bool has_classification = fs::exists(classification);
    const bool has_segmentation = kind.dense && fs::exists(segmentation);
    if (!out.empty() && !has_classification && !has_segmentation) continue;
    RunSummary row = base;
    row.features = kind.label;
    if (kind.features != Features::Encoder) {
      row.epochs = row.steps = -1;
      row.images_per_second = kNaN;
    }
    if (kind.features == Features::Raw) row.method = row.encoder = "";
    if (has_classification) read_probe(classification, row);
    if (has_segmentation) {
      RunSummary dense;
      read_probe(segmentation, dense);
      row.mean_iou = dense.mean_iou;
    }
    out.push_back(row);
  }
  return out;
}

ReportFormat parse_report_format(const std::string& name) {
  if (name == "text") return ReportFormat::Text;
  if (name == "markdown") return ReportFormat::Markdown;
  TORCH_CHECK_VALUE(name == "csv", "unknown report format '", name, "': expected one of text, markdown, csv");
  return ReportFormat::Csv;
}

namespace {

using Table = std::vector<std::vector<std::string>>;

}  // namespace

std::vector<std::vector<std::string>> report_table(const std::vector<RunSummary>& runs) {
  std::set<double> fractions;
  bool dense = false;
  for (const auto& run : runs) {
    for (const auto& [fraction, accuracy] : run.low_label) fractions.insert(fraction);
    dense = dense || !std::isnan(run.mean_iou);
  }
  std::vector<std::string> header{"run", "features", "method", "encoder", "epochs", "img/s", "probe top-1", "kNN top-1"};
  for (double f : fractions) header.push_back(fraction_header(f));
  if (dense) header.push_back("seg mIoU");
  Table rows{header};
  for (const auto& run : runs) {
    char ips[32] = "-";
    if (!std::isnan(run.images_per_second)) std::snprintf(ips, sizeof ips, "%.0f", run.images_per_second);
    std::vector<std::string> row{run.run,
                                 run.features,
                                 run.method.empty() ? "-" : run.method,
                                 run.encoder.empty() ? "-" : run.encoder,
                                 run.epochs < 0 ? "-" : std::to_string(run.epochs),
                                 ips,
                                 percent(run.probe),
                                 percent(run.knn)};
    for (double f : fractions) row.push_back(run.low_label.count(f) ? percent(run.low_label.at(f)) : "-");
    if (dense) row.push_back(percent(run.mean_iou));
    rows.push_back(row);
  }
  return rows;
}

namespace {

std::string csv_table(const Table& rows) {
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + csv_cell(row[i] == "-" ? "" : row[i]);
    out += "\n";
  }
  return out;
}

// Aligned columns, as plain text or a Markdown table: the first four left-aligned, numbers right-aligned.
std::string aligned_table(const Table& rows, bool markdown) {
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  auto cell = [&](const std::string& text, size_t i) {
    const std::string pad(width[i] - text.size(), ' ');
    return i < 4 ? text + pad : pad + text;
  };
  std::string out;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      line += markdown ? "| " + cell(rows[r][i], i) + " " : (i ? "  " : "") + cell(rows[r][i], i);
    }
    out += line + (markdown ? "|" : "") + "\n";
    if (r == 0 && markdown) {
      for (size_t i = 0; i < width.size(); ++i) out += "|" + std::string(width[i] + 1, '-') + (i < 4 ? "-" : ":");
      out += "|\n";
    }
  }
  return out;
}

}  // namespace

std::string format_report(const std::vector<RunSummary>& runs, ReportFormat format) {
  const Table rows = report_table(runs);
  return format == ReportFormat::Csv ? csv_table(rows) : aligned_table(rows, format == ReportFormat::Markdown);
}

std::string report(const ReportOptions& options) {
  TORCH_CHECK(!options.runs().empty(), "report: no run directory given");
  std::vector<RunSummary> runs;
  for (const auto& dir : options.runs()) {
    for (auto& summary : read_run_summaries(dir)) runs.push_back(std::move(summary));
  }
  return format_report(runs, options.format());
}

}  // namespace ssl::eval
