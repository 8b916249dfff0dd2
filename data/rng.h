#pragma once
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace ssl::data {

/// Small counter-seeded generator (SplitMix64) for augmentations: the stream for (seed, epoch, index) is
/// fixed, so a sample's views never depend on which worker thread made them.
class Rng {
 public:
  /// A generator whose stream is determined by the four keys alone.
  Rng(uint64_t seed, uint64_t epoch, uint64_t index, uint64_t stream = 0)
      : state_(mix(mix(mix(mix(seed) ^ epoch) ^ index) ^ stream)) {}
  /// Next 64 random bits.
  uint64_t next() { return mix(state_ += 0x9e3779b97f4a7c15ULL); }
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [lo, hi] (inclusive).
  int64_t integer(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  /// True with probability p.
  bool bernoulli(double p) { return uniform() < p; }

 private:
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

/// Shuffles `items` in place (Fisher-Yates, drawing from `rng`).
template <typename T>
void shuffle(std::vector<T>& items, Rng& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    std::swap(items[i - 1], items[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(i - 1)))]);
  }
}

}  // namespace ssl::data
