#pragma once
#include "sslkit/data/views/view_maker.h"

#include <array>

namespace ssl::data {

/// One ordering of the 9 jigsaw tiles: slot i of the shuffled puzzle holds tile `p[i]` (row-major positions).
using TilePermutation = std::array<uint8_t, 9>;

/// Noroozi & Favaro (2016), algorithm 1: `count` permutations of 9 tiles chosen greedily for maximal
/// average Hamming distance. The first is drawn from all 9! with `seed`; each next one maximizes the summed
/// distance to those chosen (ties: the largest distance to the nearest chosen one, then the lexicographically
/// first). Deterministic; cached per (count, seed).
const std::vector<TilePermutation>& jigsaw_permutations(int64_t count, uint64_t seed);

/// Positions in which two permutations differ.
int64_t hamming_distance(const TilePermutation& a, const TilePermutation& b);

/// Smallest Hamming distance between two permutations of the set.
int64_t min_hamming_distance(const std::vector<TilePermutation>& permutations);

/// Options of the jigsaw pretext, sized for 28x28 images: 3 x 3 cells of 9 px (27 px) with 7 px tiles.
struct JigsawOptions {
  /// Permutations P (the classes; Noroozi & Favaro use 1000 on ImageNet, 100 suits small images).
  TORCH_ARG(int64_t, permutations) = 100;
  /// Tile side in pixels.
  TORCH_ARG(int64_t, tile_size) = 7;
  /// Pixels between neighbouring tiles' cells (cell side = tile + gap), so edges do not give the order away.
  TORCH_ARG(int64_t, gap) = 2;
  /// Place each tile at a random offset in [0, gap] inside its cell (the paper's random tile crops); false: centred.
  TORCH_ARG(bool, jitter) = true;
  /// Seed of the permutation set (independent of the loader seed so checkpoints agree on the classes).
  TORCH_ARG(uint64_t, permutation_seed) = 0;
};

/// Jigsaw input: one view [9, C, T, T] of tiles shuffled by one of P permutations, target its index.
class Jigsaw : public ViewMaker {
 public:
  /// `norm` are the data set's channel statistics the tiles are normalized with.
  Jigsaw(JigsawOptions options, Normalization norm);
  std::string name() const override { return "jigsaw"; }
  int64_t num_views() const override { return 1; }
  std::vector<int64_t> view_shape(int64_t channels, int64_t height, int64_t width) const override;
  int64_t targets_per_image() const override { return 1; }
  int64_t num_classes() const override { return options_.permutations(); }
  void make(const ImageRef& image, Rng& rng, float* const* outs, int64_t* targets) const override;
  /// The permutation set; target t means slot i holds tile permutations()[t][i].
  const std::vector<TilePermutation>& permutations() const { return *permutations_; }

 private:
  JigsawOptions options_;
  Normalization norm_;
  const std::vector<TilePermutation>* permutations_;
};

}  // namespace ssl::data
