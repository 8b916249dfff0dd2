#pragma once
#include "sslkit/ssl/canvas.h"

#include <torch/arg.h>
#include <torch/types.h>

#include <string>
#include <vector>

namespace ssl::eval {

/// Rows [N, D] (float, N >= 2, D >= 1) projected on their two leading principal axes: float [N, 2], the centred
/// rows times the top two eigenvectors of their covariance (float64), each axis signed so that its largest-magnitude
/// loading is positive. The axes come from the smaller of the D x D covariance and the N x N Gram matrix: fully
/// decomposed up to 500 wide, past that by subspace iteration to a residual of 1e-10 of the top eigenvalue (at most
/// 100 steps, reached only when the leading eigenvalues are nearly tied and the axes ill-defined). D == 1 gives a
/// second column of zeros.
torch::Tensor pca_2d(const torch::Tensor& features);

/// Options of exact t-SNE (van der Maaten & Hinton 2008) with the schedule of scikit-learn's TSNE.
struct TsneOptions {
  /// Effective number of neighbours of each point's Gaussian input affinities; must be in (1, N - 1).
  TORCH_ARG(double, perplexity) = 30;
  /// Gradient-descent iterations in all.
  TORCH_ARG(int64_t, iterations) = 1000;
  /// Factor on the input affinities during the first `exaggeration_iterations`.
  TORCH_ARG(double, early_exaggeration) = 12;
  /// Iterations with exaggerated affinities and momentum 0.5; momentum 0.8 after them.
  TORCH_ARG(int64_t, exaggeration_iterations) = 250;
  /// Step size; 0: max(N / early_exaggeration / 4, 50) (scikit-learn's and openTSNE's "auto").
  TORCH_ARG(double, learning_rate) = 0;
  /// Seed of the initial points, N(0, 1e-4^2) per coordinate.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Conditional input affinities P_j|i (float64 [N, N], rows summing to 1, zero diagonal) of squared distances
/// [N, N]: exp(-beta_i d_ij) normalized per row, with each precision beta_i found by bisection until the row's
/// perplexity exp(H_i) is within a relative 1e-5 of `perplexity` (|H_i - log perplexity| <= 1e-5 nats), in at most
/// 200 steps.
torch::Tensor tsne_affinities(const torch::Tensor& squared_distances, double perplexity);

/// Exact t-SNE of rows [N, D] (N >= 3): symmetrized affinities (P_j|i + P_i|j) / 2N of the float64 squared Euclidean
/// distances (floored at 2.2e-16, as scikit-learn's), a Student-t output kernel, and gradient descent with momentum
/// and the reference implementation's per-coordinate gains (+0.2 where the gradient's sign differs from the
/// velocity's, x0.8 where it agrees, at least 0.01), run in float32 on all N x N pairs. Returns float [N, 2] centred
/// at 0; bitwise the same for a seed at a given thread count, the global RNG untouched. Meant for a few thousand
/// points: time and memory grow as N^2.
torch::Tensor tsne_2d(const torch::Tensor& features, const TsneOptions& options = {});

/// Options of `embedding_map`.
struct EmbeddingMapOptions {
  /// Rows drawn (without replacement) for the t-SNE map; 0: no t-SNE, nor for fewer than 5 rows.
  TORCH_ARG(int64_t, tsne_points) = 3000;
  /// The t-SNE run; its perplexity is lowered to (M - 1) / 3 for a subset of M rows too small for it (as openTSNE).
  TORCH_ARG(TsneOptions, tsne) = {};
  /// Seed of the t-SNE subset.
  TORCH_ARG(uint64_t, seed) = 0;
};

/// Two 2-D maps of an embedding: PCA of every row, t-SNE of a seeded subset.
struct EmbeddingMap {
  /// PCA coordinates of all rows, float [N, 2].
  torch::Tensor pca;
  /// t-SNE coordinates of the subset, float [M, 2]; [0, 2] without t-SNE.
  torch::Tensor tsne;
  /// The subset's rows in increasing order, int64 [M] (row i of `tsne` is row tsne_indices[i] of the features).
  torch::Tensor tsne_indices;
  /// Label of every row, int64 [N].
  torch::Tensor labels;
};

/// PCA of all rows [N, D] and t-SNE of min(N, tsne_points) of them drawn with `options.seed`; labels [N].
EmbeddingMap embedding_map(const torch::Tensor& features, const torch::Tensor& labels,
                           const EmbeddingMapOptions& options = {});

/// The colours of labels 0, 1, ... in scatter plots (Tableau 10); label k takes colour k modulo their count.
const std::vector<Rgb>& label_palette();

/// A colour as lowercase CSS hex, "#1f77b4".
std::string to_hex(Rgb color);

/// Writes a scatter plot PNG of points [M, 2] coloured by labels [M] (int64, >= 0, by `label_palette`): `title` on
/// top, one 3 x 3 dot per point in a 600 x 600 frame whose top-left pixel is (20, 40), and on its right a legend naming
/// each class (`class_names[k]`, or "k" past the end of the list). The points' bounding box is scaled alike on both
/// axes so that its longer side spans 579 pixels, centred on pixel (319.5, 339.5) (y up, rounded half away from 0).
/// The image is 660 pixels high (more for a legend of over 30 classes). Dots are drawn in a fixed shuffled order so
/// that no class hides another wholesale.
void write_scatter_png(const torch::Tensor& points, const torch::Tensor& labels,
                       const std::vector<std::string>& class_names, const std::string& title, const std::string& path);

}  // namespace ssl::eval
