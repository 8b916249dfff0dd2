#include "sslkit/data/views/jigsaw.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <numeric>

namespace ssl::data {

namespace {

std::vector<TilePermutation> max_hamming_set(int64_t count, uint64_t seed) {
  std::vector<TilePermutation> all;
  all.reserve(362880);
  TilePermutation p;
  std::iota(p.begin(), p.end(), uint8_t{0});
  do all.push_back(p);
  while (std::next_permutation(p.begin(), p.end()));

  // Per candidate: summed distance to the chosen set (-1 once chosen) and, to break the many ties of the
  // sum, the smallest distance to any chosen permutation.
  std::vector<int32_t> summed(all.size(), 0);
  std::vector<int8_t> nearest(all.size(), 9);
  Rng rng(seed, 0, 0, /*stream=*/0x0a65);
  auto next = static_cast<size_t>(rng.integer(0, static_cast<int64_t>(all.size()) - 1));
  std::vector<TilePermutation> chosen;
  while (true) {
    chosen.push_back(all[next]);
    summed[next] = -1;
    if (static_cast<int64_t>(chosen.size()) == count) break;
    const TilePermutation& added = all[next];
    int32_t best_sum = -1;
    int8_t best_nearest = -1;
    for (size_t k = 0; k < all.size(); ++k) {
      if (summed[k] < 0) continue;
      const auto d = static_cast<int8_t>(hamming_distance(added, all[k]));
      summed[k] += d;
      nearest[k] = std::min(nearest[k], d);
      if (summed[k] > best_sum || (summed[k] == best_sum && nearest[k] > best_nearest)) {
        best_sum = summed[k], best_nearest = nearest[k], next = k;
      }
    }
  }
  return chosen;
}

}  // namespace

int64_t hamming_distance(const TilePermutation& a, const TilePermutation& b) {
  int64_t d = 0;
  for (size_t i = 0; i < a.size(); ++i) d += a[i] != b[i];
  return d;
}

int64_t min_hamming_distance(const std::vector<TilePermutation>& permutations) {
  int64_t best = 9;
  for (size_t i = 0; i < permutations.size(); ++i) {
    for (size_t j = i + 1; j < permutations.size(); ++j) best = std::min(best, hamming_distance(permutations[i], permutations[j]));
  }
  return best;
}

const std::vector<TilePermutation>& jigsaw_permutations(int64_t count, uint64_t seed) {
  TORCH_CHECK(count >= 1 && count <= 362880, "jigsaw: permutations must be in [1, 9!], got ", count);
  static std::mutex mutex;
  static std::map<std::pair<int64_t, uint64_t>, std::vector<TilePermutation>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto& set = cache[{count, seed}];
  if (set.empty()) set = max_hamming_set(count, seed);
  return set;
}

Jigsaw::Jigsaw(JigsawOptions options, Normalization norm) : options_(options), norm_(std::move(norm)) {
  TORCH_CHECK(options_.tile_size() >= 1, "jigsaw: tile_size must be >= 1, got ", options_.tile_size());
  TORCH_CHECK(options_.gap() >= 0, "jigsaw: gap must be >= 0, got ", options_.gap());
  permutations_ = &jigsaw_permutations(options_.permutations(), options_.permutation_seed());
}

std::vector<int64_t> Jigsaw::view_shape(int64_t channels, int64_t height, int64_t width) const {
  const int64_t region = 3 * (options_.tile_size() + options_.gap());
  TORCH_CHECK(region <= height && region <= width, "jigsaw: 3x3 cells of ", options_.tile_size(), " px tiles with a ",
              options_.gap(), " px gap need ", region, "x", region, " px, more than the ", height, "x", width, " image");
  return {9, channels, options_.tile_size(), options_.tile_size()};
}

void Jigsaw::make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const {
  const int64_t t = options_.tile_size(), cell = t + options_.gap(), c = image.channels;
  const int64_t top = rng.integer(0, image.height - 3 * cell), left = rng.integer(0, image.width - 3 * cell);
  const auto label = rng.integer(0, options_.permutations() - 1);
  const TilePermutation& perm = (*permutations_)[static_cast<size_t>(label)];
  for (int64_t slot = 0; slot < 9; ++slot) {
    const int64_t tile = perm[static_cast<size_t>(slot)];
    int64_t dy = options_.gap() / 2, dx = options_.gap() / 2;
    if (options_.jitter()) dy = rng.integer(0, options_.gap()), dx = rng.integer(0, options_.gap());
    float* out = outs[0] + slot * c * t * t;
    crop_resize(image, {top + (tile / 3) * cell + dy, left + (tile % 3) * cell + dx, t, t}, false, t, t, out);
    normalize(out, c, t, t, norm_);
  }
  targets[0] = label;
}

}  // namespace ssl::data
