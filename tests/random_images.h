#pragma once
#include "sslkit/data/dataset.h"

#include <torch/types.h>
#include <torch/utils.h>

namespace ssl::testing {

/// A seeded labelled set of uniform random uint8 images [n, h, w, c] with labels in [0, 10).
inline data::ImageSet random_set(int64_t n, int64_t h, int64_t w, int64_t c, uint64_t seed) {
  torch::manual_seed(static_cast<int64_t>(seed));
  data::ImageSet set;
  set.images = torch::randint(0, 256, {n, h, w, c}, torch::TensorOptions().dtype(torch::kUInt8));
  set.labels = torch::randint(0, 10, {n}, torch::kInt64);
  set.origin = "random";
  return set;
}

}  // namespace ssl::testing
