#pragma once
#include <chrono>
#include <cstdio>
#include <string>

namespace ssl {

/// A status line on stderr: redrawn in place on a terminal (at most every `interval`), or printed as plain
/// lines only when `final` is set, so logs stay readable when stderr is a file.
class ProgressLine {
 public:
  /// `enabled` false silences it entirely (library default: silent unless asked).
  explicit ProgressLine(bool enabled, std::chrono::milliseconds interval = std::chrono::milliseconds(250));
  /// Shows `text`; `final` ends the line (always printed).
  void update(const std::string& text, bool final = false);
  /// Whether stderr is a terminal.
  bool interactive() const { return interactive_; }

 private:
  bool enabled_;
  bool interactive_;
  std::chrono::milliseconds interval_;
  std::chrono::steady_clock::time_point last_;
  size_t last_width_ = 0;
};

/// Formats seconds as "1h02m", "3m05s" or "12s".
std::string format_duration(double seconds);

}  // namespace ssl
