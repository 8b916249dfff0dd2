#include "sslkit/trainers/eval/metrics.h"

#include "sslkit/ssl/files.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <vector>

namespace ssl::eval {
namespace {

using Row = std::map<std::string, std::string>;

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// Parses one flat JSON object as key -> value text, recording keys in order of first appearance.
Row parse_flat_object(const std::string& line, std::vector<std::string>& keys) {
  static const std::regex field(R"re("((?:[^"\\]|\\.)*)":("(?:[^"\\]|\\.)*"|[^,}]*))re");
  // Keep the top level only: drop what lies inside nested brackets (outside strings).
  std::string top;
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (depth <= 1) top += c;
      if (c == '\\' && i + 1 < line.size()) {
        if (depth <= 1) top += line[i + 1];
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if (depth <= 1) top += c;
    if (c == '}' || c == ']') --depth;
  }
  Row row;
  for (auto it = std::sregex_iterator(top.begin(), top.end(), field); it != std::sregex_iterator(); ++it) {
    const std::string key = (*it)[1];
    std::string value = (*it)[2];
    if (value == "null") value.clear();
    if (!value.empty() && value.front() == '"') value = std::regex_replace(value.substr(1, value.size() - 2), std::regex(R"(\\")"), "\"");
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    row[key] = value;
  }
  return row;
}

}  // namespace

std::map<std::string, std::string> parse_json_fields(const std::string& json) {
  std::vector<std::string> keys;
  return parse_flat_object(json, keys);
}

double field_number(const std::map<std::string, std::string>& fields, const std::string& key) {
  const auto found = fields.find(key);
  if (found == fields.end() || found->second.empty()) return std::numeric_limits<double>::quiet_NaN();
  try {
    return std::stod(found->second);
  } catch (const std::exception&) {
    return std::numeric_limits<double>::quiet_NaN();
  }
}

std::string csv_cell(const std::string& value) {
  if (value.find_first_of(",\"\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

void truncate_metrics(const std::string& jsonl_path, int64_t last_step) {
  if (!std::filesystem::exists(jsonl_path)) return;
  static const std::regex step_field("\"step\":(-?[0-9]+)");
  std::string kept;
  for (const auto& line : read_lines(jsonl_path)) {
    std::smatch match;
    if (std::regex_search(line, match, step_field) && std::stoll(match[1]) > last_step) continue;
    kept += line + "\n";
  }
  write_file_atomic(jsonl_path, kept);
}

void write_metrics_csv(const std::string& jsonl_path, const std::string& csv_path) {
  std::vector<std::string> keys;
  std::vector<Row> rows;
  for (const auto& line : read_lines(jsonl_path)) rows.push_back(parse_flat_object(line, keys));
  std::string csv;
  for (size_t i = 0; i < keys.size(); ++i) csv += (i ? "," : "") + csv_cell(keys[i]);
  csv += "\n";
  for (const auto& row : rows) {
    for (size_t i = 0; i < keys.size(); ++i) {
      const auto found = row.find(keys[i]);
      csv += (i ? "," : "") + (found == row.end() ? std::string() : csv_cell(found->second));
    }
    csv += "\n";
  }
  write_file_atomic(csv_path, csv);
}

}  // namespace ssl::eval
