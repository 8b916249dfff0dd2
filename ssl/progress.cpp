#include "sslkit/ssl/progress.h"

#include <unistd.h>

namespace ssl {

ProgressLine::ProgressLine(bool enabled, std::chrono::milliseconds interval)
    : enabled_(enabled), interactive_(::isatty(STDERR_FILENO) == 1), interval_(interval) {}

void ProgressLine::update(const std::string& text, bool final) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!interactive_) {
    if (final) std::fprintf(stderr, "%s\n", text.c_str());
    return;
  }
  if (!final && now - last_ < interval_) return;
  last_ = now;
  std::string padded = text;
  if (padded.size() < last_width_) padded.append(last_width_ - padded.size(), ' ');
  std::fprintf(stderr, "\r%s%s", padded.c_str(), final ? "\n" : "");
  std::fflush(stderr);
  last_width_ = final ? 0 : text.size();
}

std::string format_duration(double seconds) {
  if (seconds < 0) seconds = 0;
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lds", s);
  }
  return buf;
}

}  // namespace ssl
