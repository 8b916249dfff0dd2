#include "sslkit/trainers/eval/html_report.h"

#include "sslkit/data/sources/source.h"
#include "sslkit/ssl/files.h"
#include "sslkit/trainers/eval/embed.h"
#include "sslkit/trainers/eval/embedding_map.h"
#include "sslkit/trainers/eval/evaluate.h"
#include "sslkit/trainers/eval/metrics.h"
#include "sslkit/trainers/eval/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace ssl::eval {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

std::string percent(double fraction) { return std::isnan(fraction) ? "-" : format("%.2f%%", 100 * fraction); }

// ---------------------------------------------------------------------------------------------------------------
// Reading a run directory.

std::string read_text(const fs::path& path) {
  const auto bytes = read_file(path.string());
  return {bytes.begin(), bytes.end()};
}

// The text of the array that is the value of top-level `key` ("[...]" with nested brackets), empty when absent.
std::string array_text(const std::string& json, const std::string& key) {
  const std::string marker = "\"" + key + "\":[";
  const auto start = json.find(marker);
  if (start == std::string::npos) return "";
  const size_t open = start + marker.size() - 1;
  int depth = 0;
  for (size_t i = open; i < json.size(); ++i) {
    if (json[i] == '[') ++depth;
    if (json[i] == ']' && --depth == 0) return json.substr(open, i - open + 1);
  }
  return "";
}

// The numbers of an array text in order, null as NaN.
std::vector<double> numbers_in(const std::string& text) {
  std::vector<double> values;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '-' || c == '.' || (c >= '0' && c <= '9')) {
      size_t used = 0;
      values.push_back(std::stod(text.substr(i), &used));
      i += used;
    } else if (text.compare(i, 4, "null") == 0) {
      values.push_back(kNaN);
      i += 4;
    } else {
      ++i;
    }
  }
  return values;
}

// The objects of an array text ("[{..},{..}]"), each as its text.
std::vector<std::string> objects_in(const std::string& text) {
  std::vector<std::string> objects;
  int depth = 0;
  size_t begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{' && depth++ == 0) begin = i;
    if (text[i] == '}' && --depth == 0) objects.push_back(text.substr(begin, i - begin + 1));
  }
  return objects;
}

// One row of metrics.jsonl: its numeric fields.
using MetricsRow = std::map<std::string, double>;

std::vector<MetricsRow> read_metrics(const fs::path& path) {
  std::vector<MetricsRow> rows;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    MetricsRow row;
    const auto fields = parse_json_fields(line);
    for (const auto& [key, value] : fields) {
      const double v = field_number(fields, key);
      if (!std::isnan(v)) row[key] = v;
    }
    if (row.count("step")) rows.push_back(std::move(row));
  }
  return rows;
}

// A saved probe result: its text (empty when the file is missing) and top-level fields.
struct ProbeFile {
  std::string name;
  std::string json;
  std::map<std::string, std::string> fields;
  bool present() const { return !json.empty(); }
};

ProbeFile read_probe_file(const fs::path& dir, const std::string& name) {
  ProbeFile file;
  file.name = name;
  if (!fs::exists(dir / name)) return file;
  file.json = read_text(dir / name);
  file.fields = parse_json_fields(file.json);
  return file;
}

// Everything the page shows of one run directory.
struct RunPage {
  std::string dir;
  std::map<std::string, std::string> options;
  std::vector<MetricsRow> metrics;
  std::vector<std::string> class_names;
  // Classification results by the label of their kind (encoder, random-init, raw, sgd-augment, finetune, ...).
  std::vector<std::pair<std::string, ProbeFile>> classification;
  std::vector<std::pair<std::string, ProbeFile>> retrieval;
  std::vector<std::pair<std::string, std::string>> images;  // (caption, file name) of the PNGs shown
  std::vector<std::string> missing;                         // one line per result the run lacks
};

constexpr Features kBaselines[] = {Features::Encoder, Features::RandomInit, Features::Raw};

std::string features_label(Features features) {
  switch (features) {
    case Features::Encoder: return "trained encoder";
    case Features::RandomInit: return "random-init encoder";
    case Features::Raw: return "raw pixels";
    default: return to_string(features);
  }
}

std::string probe_command(const std::string& dir, const std::string& flags) {
  return "sslkit probe --checkpoint " + dir + flags;
}

// The `task` results of the run's encoder and its two baselines into `found` (labelled by their features); each one
// missing is listed in `page.missing` with the probe command (`task_flags` added) that makes it.
void read_baseline_results(RunPage& page, Task task, const std::string& task_flags,
                           std::vector<std::pair<std::string, ProbeFile>>& found) {
  for (const Features f : kBaselines) {
    const std::string flags = f == Features::Encoder ? "" : " --features " + to_string(f);
    auto probe = read_probe_file(page.dir, probe_json_name(task, f, Protocol::Lbfgs));
    if (probe.present()) {
      found.emplace_back(features_label(f), probe);
    } else {
      page.missing.push_back(probe.name + " (" + probe_command(page.dir, task_flags + flags) + ")");
    }
  }
}

// The map PNGs of every kind of features found; the encoder's listed as missing when it has none.
void add_map_images(RunPage& page) {
  for (const Features f : kBaselines) {
    bool any = false;
    for (const std::string projection : {"pca", "tsne"}) {
      const std::string name = map_png_name(projection, f);
      if (!fs::exists(fs::path(page.dir) / name)) continue;
      any = true;
      page.images.emplace_back((projection == "pca" ? "PCA" : "t-SNE") + std::string(" map, ") + features_label(f),
                               name);
    }
    if (!any && f == Features::Encoder) {
      page.missing.push_back(map_png_name("pca", f) + " and " + map_png_name("tsne", f) + " (" +
                             probe_command(page.dir, " --task map") + ")");
    }
  }
}

// Class names for as many classes as the widest per-class result: the data set's, else "0", "1", ...
std::vector<std::string> page_class_names(const RunPage& page) {
  int64_t classes = 0;
  for (const auto& [label, probe] : page.classification) {
    classes = std::max<int64_t>(classes, numbers_in(array_text(probe.json, "per_class_accuracy")).size());
  }
  const std::string data = page.options.count("data") ? page.options.at("data") : "";
  auto names = data::class_names(data, classes);
  for (int64_t k = static_cast<int64_t>(names.size()); k < classes; ++k) names.push_back(std::to_string(k));
  return names;
}

RunPage read_run_page(const std::string& dir_name) {
  const fs::path dir(dir_name);
  RunPage page;
  page.dir = dir_name;
  page.options = read_options_ini((dir / "options.ini").string());
  if (page.options.empty()) page.missing.push_back("options.ini (written by sslkit pretrain)");
  page.metrics = read_metrics(dir / "metrics.jsonl");
  if (page.metrics.empty()) page.missing.push_back("metrics.jsonl (written by sslkit pretrain): no training curves");
  if (fs::exists(dir / "views.png")) {
    page.images.emplace_back("The first training images and the views the method made of them (epoch 0)", "views.png");
  } else {
    page.missing.push_back("views.png (written by sslkit pretrain at its start; or run sslkit views)");
  }
  read_baseline_results(page, Task::Classification, "", page.classification);
  for (const auto& [label, protocol, features] :
       {std::make_tuple("sgd-augment probe", Protocol::SgdAugment, Features::Encoder),
        std::make_tuple("fine-tuning", Protocol::FineTune, Features::Encoder),
        std::make_tuple("fine-tuning from random init", Protocol::FineTune, Features::RandomInit)}) {
    auto probe = read_probe_file(dir, probe_json_name(Task::Classification, features, protocol));
    if (probe.present()) page.classification.emplace_back(label, probe);
  }
  read_baseline_results(page, Task::Retrieval, " --task retrieval", page.retrieval);
  add_map_images(page);
  page.class_names = page_class_names(page);
  return page;
}

// ---------------------------------------------------------------------------------------------------------------
// Drawing.

// Colours of runs on the charts (label_palette's order).
std::string run_colour(size_t index) {
  const auto& palette = label_palette();
  return to_hex(palette[index % palette.size()]);
}

// Text of a tick value on an axis whose ticks are `spacing` apart and reach `largest` in magnitude: as many decimals
// as the spacing needs, or scientific notation for the whole axis when its values are tiny or huge.
std::string tick_label(double value, double spacing, double largest) {
  if (value == 0) return "0";
  if (largest >= 1e5 || spacing < 1e-3) return format("%.1e", value);
  const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(spacing) - 1e-9)));
  char pattern[16];
  std::snprintf(pattern, sizeof pattern, "%%.%df", decimals);
  return format(pattern, value);
}

// The ticks of an axis over [low, high] with their labels (fractions shown as percent when `percent_axis`).
std::vector<std::pair<double, std::string>> axis_ticks(double low, double high, int count, bool percent_axis) {
  const auto ticks = nice_ticks(low, high, count);
  const double spacing = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  const double largest = std::max(std::fabs(low), std::fabs(high));
  std::vector<std::pair<double, std::string>> labelled;
  for (const double t : ticks) {
    labelled.emplace_back(t, percent_axis ? tick_label(100 * t, 100 * spacing, 100 * largest) + "%"
                                          : tick_label(t, spacing, largest));
  }
  return labelled;
}

struct Series {
  std::string name, colour;
  std::vector<std::pair<double, double>> points;
};

// An SVG line chart with ticked axes; y as percent when `percent_axis` (values are fractions).
std::string line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                       const std::vector<Series>& series, bool percent_axis) {
  const double width = 520, height = 300, left = 70, right = 16, top = 30, bottom = 46;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  if (x0 == x1) x0 -= 0.5, x1 += 0.5;
  if (y0 == y1) y0 -= std::max(0.5 * std::fabs(y0), 1e-9), y1 += std::max(0.5 * std::fabs(y1), 1e-9);
  const double pad = 0.04 * (y1 - y0);
  y0 -= pad, y1 += pad;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * plot_w; };
  auto py = [&](double y) { return top + (1 - (y - y0) / (y1 - y0)) * plot_h; };
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << " " << height << "\" role=\"img\"><title>" << html_escape(title)
      << "</title>";
  svg << "<text x=\"" << left << "\" y=\"18\" class=\"chart-title\">" << html_escape(title) << "</text>";
  svg << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\"" << plot_h
      << "\" class=\"plot\"/>";
  for (const auto& [t, label] : axis_ticks(x0, x1, 6, false)) {
    svg << "<line x1=\"" << px(t) << "\" y1=\"" << top << "\" x2=\"" << px(t) << "\" y2=\"" << top + plot_h
        << "\" class=\"grid\"/><text x=\"" << px(t) << "\" y=\"" << top + plot_h + 16
        << "\" text-anchor=\"middle\">" << label << "</text>";
  }
  for (const auto& [t, label] : axis_ticks(y0, y1, 5, percent_axis)) {
    svg << "<line x1=\"" << left << "\" y1=\"" << py(t) << "\" x2=\"" << left + plot_w << "\" y2=\"" << py(t)
        << "\" class=\"grid\"/><text x=\"" << left - 6 << "\" y=\"" << py(t) + 4 << "\" text-anchor=\"end\">" << label
        << "</text>";
  }
  svg << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 8 << "\" text-anchor=\"middle\" class=\"axis\">"
      << html_escape(x_label) << "</text>";
  svg << "<text transform=\"translate(14 " << top + plot_h / 2 << ") rotate(-90)\" text-anchor=\"middle\" "
      << "class=\"axis\">" << html_escape(y_label) << "</text>";
  for (const auto& s : series) {
    if (s.points.size() == 1) {
      svg << "<circle cx=\"" << px(s.points[0].first) << "\" cy=\"" << py(s.points[0].second) << "\" r=\"3\" fill=\""
          << s.colour << "\"/>";
      continue;
    }
    svg << "<polyline fill=\"none\" stroke=\"" << s.colour << "\" stroke-width=\"1.6\" points=\"";
    for (const auto& [x, y] : s.points) svg << format("%.1f", px(x)) << "," << format("%.1f", py(y)) << " ";
    svg << "\"/>";
  }
  if (series.size() > 1) {
    double y = top + 14;
    for (const auto& s : series) {
      svg << "<rect x=\"" << left + plot_w - 150 << "\" y=\"" << y - 8 << "\" width=\"10\" height=\"10\" fill=\""
          << s.colour << "\"/><text x=\"" << left + plot_w - 136 << "\" y=\"" << y + 1 << "\">" << html_escape(s.name)
          << "</text>";
      y += 15;
    }
  }
  svg << "</svg>";
  return svg.str();
}

// The confusion matrix [K, K] (row = true class) as an SVG heat map: each cell shaded by its share of the row,
// with its count.
std::string confusion_heat_map(const std::vector<std::vector<double>>& matrix, const std::vector<std::string>& names) {
  const size_t k = matrix.size();
  const double cell = 44, left = 120, top = 24, bottom = 110;
  const double size = cell * static_cast<double>(k);
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << left + size + 10 << "\" height=\""
      << top + size + bottom << "\" role=\"img\"><title>Confusion matrix</title>";
  svg << "<text x=\"" << left + size / 2 << "\" y=\"14\" text-anchor=\"middle\" class=\"axis\">predicted</text>";
  for (size_t i = 0; i < k; ++i) {
    double total = 0;
    for (const double v : matrix[i]) total += v;
    const std::string name = i < names.size() ? names[i] : std::to_string(i);
    svg << "<text x=\"" << left - 6 << "\" y=\"" << top + cell * (i + 0.5) + 4 << "\" text-anchor=\"end\">"
        << html_escape(name) << "</text>";
    svg << "<text transform=\"translate(" << left + cell * (i + 0.5) + 4 << " " << top + size + 6
        << ") rotate(-60)\" text-anchor=\"end\">" << html_escape(name) << "</text>";
    for (size_t j = 0; j < matrix[i].size() && j < k; ++j) {
      const double share = total > 0 ? matrix[i][j] / total : 0;
      const int shade = static_cast<int>(std::lround(255 * (1 - share)));
      char fill[16];
      std::snprintf(fill, sizeof fill, "#%02x%02xff", shade, shade);
      svg << "<rect x=\"" << left + cell * j << "\" y=\"" << top + cell * i << "\" width=\"" << cell << "\" height=\""
          << cell << "\" fill=\"" << fill << "\" stroke=\"#ffffff\"/><text x=\"" << left + cell * (j + 0.5)
          << "\" y=\"" << top + cell * (i + 0.5) + 4 << "\" text-anchor=\"middle\"" << (share > 0.5 ? " class=\"on-dark\"" : "")
          << ">" << static_cast<long long>(matrix[i][j]) << "</text>";
    }
  }
  svg << "<text transform=\"translate(12 " << top + size / 2 << ") rotate(-90)\" text-anchor=\"middle\" "
      << "class=\"axis\">true class</text></svg>";
  return svg.str();
}

std::string image_tag(const fs::path& path, const std::string& caption) {
  return "<figure><img alt=\"" + html_escape(caption) + "\" src=\"data:image/png;base64," + base64(read_text(path)) +
         "\"/><figcaption>" + html_escape(caption) + "</figcaption></figure>";
}

std::string html_table(const std::vector<std::vector<std::string>>& rows, size_t text_columns) {
  std::string html = "<table>";
  for (size_t r = 0; r < rows.size(); ++r) {
    html += "<tr>";
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const char* tag = r == 0 ? "th" : "td";
      html += std::string("<") + tag + (c >= text_columns && r > 0 ? " class=\"num\"" : "") + ">" +
              html_escape(rows[r][c]) + "</" + tag + ">";
    }
    html += "</tr>";
  }
  return html + "</table>";
}

// ---------------------------------------------------------------------------------------------------------------
// Sections.

std::string options_section(const std::vector<RunPage>& pages) {
  std::set<std::string> keys;
  for (const auto& p : pages)
    for (const auto& [key, value] : p.options) keys.insert(key);
  keys.erase("out");
  std::string html = "<h2>Options</h2>";
  if (keys.empty()) return html + "<p class=\"missing\">No run has an options.ini.</p>";
  if (pages.size() > 1) {
    std::vector<std::vector<std::string>> rows{{"option"}};
    for (const auto& p : pages) rows[0].push_back(p.dir);
    for (const auto& key : keys) {
      std::set<std::string> values;
      std::vector<std::string> row{key};
      for (const auto& p : pages) {
        const auto found = p.options.find(key);
        row.push_back(found == p.options.end() ? "-" : found->second);
        values.insert(row.back());
      }
      if (values.size() > 1) rows.push_back(row);
    }
    html += rows.size() > 1 ? "<p>The options that differ between the runs:</p>" + html_table(rows, rows[0].size())
                            : "<p>The runs have the same options.</p>";
  }
  for (const auto& p : pages) {
    std::vector<std::vector<std::string>> rows{{"option", "value"}};
    for (const auto& [key, value] : p.options) rows.push_back({key, value});
    html += "<details><summary>All options of " + html_escape(p.dir) + "</summary>" + html_table(rows, 2) +
            "</details>";
  }
  return html;
}

std::string curves_section(const std::vector<RunPage>& pages) {
  struct Metric {
    const char* key;
    const char* title;
    const char* unit;
    bool percent;
  };
  constexpr Metric kMetrics[] = {{"loss", "Training loss", "loss", false},
                                 {"lr", "Learning rate", "learning rate", false},
                                 {"images_per_second", "Training speed", "images/s", false},
                                 {"knn_accuracy", "kNN accuracy (monitor)", "kNN top-1", true}};
  std::string html = "<h2>Training curves</h2><div class=\"charts\">";
  bool any = false;
  for (const auto& metric : kMetrics) {
    std::vector<Series> by_step, by_time;
    for (size_t r = 0; r < pages.size(); ++r) {
      Series step{pages[r].dir, run_colour(r), {}}, time{pages[r].dir, run_colour(r), {}};
      for (const auto& row : pages[r].metrics) {
        const auto value = row.find(metric.key);
        if (value == row.end()) continue;
        step.points.emplace_back(row.at("step"), value->second);
        if (row.count("elapsed_s")) time.points.emplace_back(row.at("elapsed_s") / 60, value->second);
      }
      if (!step.points.empty()) by_step.push_back(step);
      if (!time.points.empty()) by_time.push_back(time);
    }
    if (by_step.empty()) continue;
    any = true;
    html += line_chart(std::string(metric.title) + " by step", "optimizer step", metric.unit, by_step, metric.percent);
    if (!by_time.empty()) {
      html += line_chart(std::string(metric.title) + " by time", "wall-clock minutes", metric.unit, by_time,
                         metric.percent);
    }
  }
  html += "</div>";
  if (!any) html += "<p class=\"missing\">No run has a metrics.jsonl with rows.</p>";
  return html;
}

// The label-fraction rows of the classification results: one row per (result, fraction).
std::string probe_table(const RunPage& page) {
  std::vector<std::vector<std::string>> rows{
      {"features / protocol", "labels", "train images", "test top-1", "top-5", "balanced", "kNN top-1", "epochs"}};
  for (const auto& [label, probe] : page.classification) {
    for (const auto& object : objects_in(array_text(probe.json, "label_fractions"))) {
      const auto f = parse_json_fields(object);
      const double epochs = field_number(f, "epochs");
      rows.push_back({label, format("%g%%", 100 * field_number(f, "fraction")), format("%.0f", field_number(f, "train_size")),
                      percent(field_number(f, "test_accuracy")), percent(field_number(f, "top5_accuracy")),
                      percent(field_number(f, "balanced_accuracy")), percent(field_number(f, "knn_accuracy")),
                      std::isnan(epochs) ? "-" : format("%.0f", epochs)});
    }
  }
  return html_table(rows, 1);
}

std::string per_class_table(const RunPage& page) {
  std::vector<std::vector<std::string>> rows{{"class"}};
  std::vector<std::vector<double>> columns;
  for (const auto& [label, probe] : page.classification) {
    const auto values = numbers_in(array_text(probe.json, "per_class_accuracy"));
    if (values.empty()) continue;
    rows[0].push_back(label);
    columns.push_back(values);
  }
  for (size_t k = 0; k < page.class_names.size(); ++k) {
    std::vector<std::string> row{page.class_names[k]};
    for (const auto& column : columns) row.push_back(k < column.size() ? percent(column[k]) : "-");
    rows.push_back(row);
  }
  return html_table(rows, 1);
}

std::string retrieval_table(const RunPage& page) {
  std::vector<std::vector<std::string>> rows{
      {"features", "queries", "gallery", "mAP@R", "mAP", "P@1", "P@10", "P@100"}};
  for (const auto& [label, probe] : page.retrieval) {
    const auto& f = probe.fields;
    rows.push_back({label, format("%.0f", field_number(f, "queries")), format("%.0f", field_number(f, "gallery")),
                    percent(field_number(f, "map_at_r")), percent(field_number(f, "mean_average_precision")),
                    percent(field_number(f, "precision_at_1")), percent(field_number(f, "precision_at_10")),
                    percent(field_number(f, "precision_at_100"))});
  }
  return html_table(rows, 1);
}

std::string run_section(const RunPage& page, size_t index) {
  std::string html = "<section><h2><span class=\"swatch\" style=\"background:" + run_colour(index) + "\"></span>" +
                     html_escape(page.dir) + "</h2>";
  const fs::path dir(page.dir);
  if (!page.options.empty()) {
    auto get = [&](const char* key) { return page.options.count(key) ? page.options.at(key) : std::string("?"); };
    html += "<p>" + html_escape(get("method") + " / " + get("encoder") + " on " + get("data")) + "</p>";
  }
  for (const auto& [caption, name] : page.images) {
    if (name == "views.png") html += "<h3>Views</h3>" + image_tag(dir / name, caption);
  }
  if (!page.classification.empty()) {
    html += "<h3>Probe results</h3>" + probe_table(page);
    html += "<h3>Per-class accuracy (all labels)</h3>" + per_class_table(page);
    const auto& own = page.classification.front();
    const auto values = numbers_in(array_text(own.second.json, "confusion_matrix"));
    const size_t k = static_cast<size_t>(std::lround(std::sqrt(static_cast<double>(values.size()))));
    if (k > 0 && k * k == values.size()) {
      std::vector<std::vector<double>> matrix(k, std::vector<double>(k));
      for (size_t i = 0; i < k * k; ++i) matrix[i / k][i % k] = values[i];
      html += "<h3>Confusion matrix: " + html_escape(own.first) + ", linear probe, test split</h3>" +
              confusion_heat_map(matrix, page.class_names);
    }
  }
  if (!page.retrieval.empty()) html += "<h3>Retrieval (test images query the training images)</h3>" + retrieval_table(page);
  std::string maps;
  for (const auto& [caption, name] : page.images) {
    if (name != "views.png") maps += image_tag(dir / name, caption);
  }
  if (!maps.empty()) html += "<h3>2-D maps of the test images' features</h3><div class=\"maps\">" + maps + "</div>";
  if (!page.missing.empty()) {
    html += "<h3>Not in this run directory</h3><ul class=\"missing\">";
    for (const auto& line : page.missing) html += "<li>" + html_escape(line) + "</li>";
    html += "</ul>";
  }
  return html + "</section>";
}

constexpr const char* kStyle =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1120px;color:#222;"
    "font-size:14px}h1{font-size:24px}h2{font-size:19px;border-bottom:1px solid #ccc;padding-bottom:4px;"
    "margin-top:32px}h3{font-size:15px;margin-top:20px}table{border-collapse:collapse;margin:8px 0}"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}th{background:#f3f3f3}.charts,.maps{display:flex;flex-wrap:wrap;gap:8px}"
    "svg text{font-size:11px;fill:#333}svg .chart-title{font-size:13px;font-weight:bold}"
    "svg .axis{font-size:12px}svg text.on-dark{fill:#fff}svg .plot{fill:none;stroke:#999}svg .grid{stroke:#e6e6e6}"
    "figure{margin:8px 0}img{max-width:100%;image-rendering:pixelated}.missing{color:#8a5a00}"
    ".swatch{display:inline-block;width:14px;height:14px;margin-right:8px;vertical-align:middle}"
    "details{margin:6px 0}";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t chunk = 0;
    for (size_t j = 0; j < 3; ++j) chunk = chunk << 8 | (j < n ? static_cast<uint8_t>(bytes[i + j]) : 0);
    for (size_t j = 0; j < 4; ++j) out += j <= n ? kAlphabet[(chunk >> (18 - 6 * j)) & 63] : '=';
  }
  return out;
}

std::vector<double> nice_ticks(double low, double high, int count) {
  if (!(high > low) || count < 1) return {low};
  const double raw = (high - low) / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  const auto first = static_cast<int64_t>(std::ceil(low / step - 1e-9));
  const auto last = static_cast<int64_t>(std::floor(high / step + 1e-9));
  for (int64_t k = first; k <= last; ++k) ticks.push_back(static_cast<double>(k) * step);
  return ticks;
}

std::string html_report(const HtmlReportOptions& options) {
  TORCH_CHECK(!options.runs().empty(), "report: no run directory given");
  std::vector<RunSummary> summaries;
  std::vector<RunPage> pages;
  for (const auto& dir : options.runs()) {
    for (auto& summary : read_run_summaries(dir)) summaries.push_back(std::move(summary));
    pages.push_back(read_run_page(dir));
  }
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>" +
                     html_escape(options.title()) + "</title><style>" + kStyle + "</style></head><body><h1>" +
                     html_escape(options.title()) + "</h1>";
  html += "<h2>Results</h2><p>Linear probe and kNN on the test split, in percent; one row per features probed.</p>" +
          html_table(report_table(summaries), 4);
  html += options_section(pages);
  html += curves_section(pages);
  for (size_t i = 0; i < pages.size(); ++i) html += run_section(pages[i], i);
  return html + "</body></html>\n";
}

void write_html_report(const HtmlReportOptions& options, const std::string& path) {
  write_file_atomic(path, html_report(options));
}

}  // namespace ssl::eval
