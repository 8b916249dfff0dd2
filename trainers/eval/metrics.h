#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace ssl::eval {

/// Keeps the rows of the JSON-lines metrics file whose "step" is at most `last_step` (a resumed run drops
/// the rows logged after its checkpoint); rewrites the file atomically. A missing file is left missing.
void truncate_metrics(const std::string& jsonl_path, int64_t last_step);

/// Writes the rows of a JSON-lines metrics file (flat objects of numbers, strings, booleans or null) as CSV,
/// atomically: one column per key in order of first appearance, empty cells where a row lacks the key.
void write_metrics_csv(const std::string& jsonl_path, const std::string& csv_path);

/// The top-level fields of one JSON object as key -> value text (strings unquoted, null as empty); the
/// contents of nested arrays and objects are skipped (their key maps to an empty value).
std::map<std::string, std::string> parse_json_fields(const std::string& json);

/// The number in `fields[key]` (as `parse_json_fields` gives them); NaN when the key is absent, its value empty
/// (null) or not a number.
double field_number(const std::map<std::string, std::string>& fields, const std::string& key);

/// `value` as one CSV cell: quoted (quotes doubled) when it holds a comma, quote or newline.
std::string csv_cell(const std::string& value);

}  // namespace ssl::eval
