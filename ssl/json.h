#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ssl {

/// Builds one flat JSON object, in insertion order (metrics lines, --json results).
class JsonObject {
 public:
  /// Adds a string field (escaped).
  JsonObject& add(const std::string& key, const std::string& value);
  /// Adds a string field (escaped).
  JsonObject& add(const std::string& key, const char* value) { return add(key, std::string(value)); }
  /// Adds a number field; non-finite values are written as null.
  JsonObject& add(const std::string& key, double value);
  /// Adds an integer field.
  JsonObject& add(const std::string& key, int64_t value);
  /// Adds an integer field.
  JsonObject& add(const std::string& key, int value) { return add(key, static_cast<int64_t>(value)); }
  /// Adds a boolean field.
  JsonObject& add(const std::string& key, bool value);
  /// Adds a field whose value is already JSON text (a nested object or array).
  JsonObject& add_raw(const std::string& key, const std::string& json);
  /// The object as compact JSON text.
  std::string str() const;

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

/// `text` as a quoted, escaped JSON string.
std::string json_quote(const std::string& text);

}  // namespace ssl
