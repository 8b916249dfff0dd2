#include "sslkit/trainers/schedule.h"

#include <algorithm>
#include <cmath>

namespace ssl::trainers {

double warmup_cosine(double progress, double warmup, double final_fraction) {
  progress = std::clamp(progress, 0.0, 1.0);
  if (warmup > 0 && progress < warmup) return (progress + 1e-3) / (warmup + 1e-3);
  const double t = warmup >= 1 ? 1.0 : (progress - warmup) / (1.0 - warmup);
  return final_fraction + (1.0 - final_fraction) * 0.5 * (1.0 + std::cos(M_PI * t));
}

}  // namespace ssl::trainers
