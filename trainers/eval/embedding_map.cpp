#include "sslkit/trainers/eval/embedding_map.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace ssl::eval {
namespace {

constexpr double kEntropyTolerance = 1e-5;
constexpr int64_t kMaxSearchSteps = 200;
constexpr int64_t kExactEigenSize = 500;
constexpr int64_t kMaxSubspaceSteps = 100;
// scikit-learn's floor on the joint affinities (float64 machine epsilon); it also keeps float32 denormals, many times
// slower to multiply, out of the gradient.
constexpr double kMinAffinity = 2.220446049250313e-16;
constexpr int64_t kMinTsneRows = 5;  // the fewest whose perplexity (M - 1) / 3 exceeds 1

/// Squared Euclidean distances [N, N] between the rows of `x` (float64), with an exact zero diagonal.
torch::Tensor squared_distances(const torch::Tensor& x) {
  auto centred = x - x.mean(0, true);
  auto norms = centred.pow(2).sum(1, true);
  auto d = torch::addmm(norms, centred, centred.t(), 1, -2);
  return d.add_(norms.t()).clamp_min_(0).fill_diagonal_(0);
}

/// The t-SNE gradient 4 sum_j (e p_ij - w_ij / Z) w_ij (y_i - y_j), w_ij = 1 / (1 + |y_i - y_j|^2),
/// Z = sum_{i != j} w_ij, of points y = scale * u (u [N, 2]) and symmetric affinities p [N, N] (float, contiguous), in
/// units of `scale`. A power-of-two scale leaves every float32 operation exact in proportion, so the result is the
/// one of y itself (bit for bit), without y underflowing. One pass over p, each row summed by one thread in a fixed
/// order, so the result does not depend on the thread count.
torch::Tensor tsne_gradient(const torch::Tensor& p, const torch::Tensor& u, double scale, double exaggeration) {
  constexpr int64_t lanes = 8;
  const int64_t n = u.size(0);
  // Below 2^-50, scale^2 |u_i - u_j|^2 (|u| < 2 after renormalizing) vanishes next to 1 in float32 anyway: 0 keeps
  // denormals, many times slower, out of the loop.
  const float scale2 = scale * scale < 0x1p-50 ? 0.0f : static_cast<float>(scale * scale);
  const auto x0 = u.select(1, 0).contiguous(), x1 = u.select(1, 1).contiguous();
  const float *pp = p.data_ptr<float>(), *px = x0.data_ptr<float>(), *py = x1.data_ptr<float>();
  auto sums = torch::empty({n, 5}, torch::kDouble);  // sum_j w_ij, attraction (2), repulsion (2)
  double* out = sums.data_ptr<double>();
  // Threads share rows of at least 2^20 pairs (about a millisecond): a few hundred points are faster on one.
  at::parallel_for(0, n, (int64_t{1} << 20) / n + 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float xi = px[i], yi = py[i];
      const float* row = pp + i * n;
      // Independent per-lane accumulators let the compiler vectorize the pair loop.
      float w_sum[lanes] = {}, ax[lanes] = {}, ay[lanes] = {}, rx[lanes] = {}, ry[lanes] = {};
      int64_t j = 0;
      for (; j + lanes <= n; j += lanes) {
        for (int64_t k = 0; k < lanes; ++k) {
          const float dx = xi - px[j + k], dy = yi - py[j + k];
          const float w = 1.0f / (1.0f + scale2 * (dx * dx + dy * dy)), pw = row[j + k] * w, ww = w * w;
          w_sum[k] += w, ax[k] += pw * dx, ay[k] += pw * dy, rx[k] += ww * dx, ry[k] += ww * dy;
        }
      }
      for (; j < n; ++j) {
        const float dx = xi - px[j], dy = yi - py[j];
        const float w = 1.0f / (1.0f + scale2 * (dx * dx + dy * dy)), pw = row[j] * w, ww = w * w;
        w_sum[0] += w, ax[0] += pw * dx, ay[0] += pw * dy, rx[0] += ww * dx, ry[0] += ww * dy;
      }
      double* o = out + i * 5;
      o[0] = -1.0;  // w_ii = 1 is not a pair
      o[1] = o[2] = o[3] = o[4] = 0.0;
      for (int64_t k = 0; k < lanes; ++k) o[0] += w_sum[k], o[1] += ax[k], o[2] += ay[k], o[3] += rx[k], o[4] += ry[k];
    }
  });
  double z = 0;
  for (int64_t i = 0; i < n; ++i) z += out[i * 5];
  return (sums.narrow(1, 1, 2) * (4 * exaggeration) - sums.narrow(1, 3, 2) * (4 / z)).to(torch::kFloat);
}

/// The `count` leading eigenvectors [M, count] (largest eigenvalue first) of a symmetric positive semi-definite
/// float64 matrix [M, M]: from a full eigendecomposition up to M = kExactEigenSize (cubic in M: seconds at
/// M = 1024 on two cores), past it by subspace iteration on a block of count + 10 vectors with Rayleigh-Ritz steps,
/// until every residual |A v - theta v| is within 1e-10 of the largest eigenvalue or after kMaxSubspaceSteps.
torch::Tensor leading_eigenvectors(const torch::Tensor& a, int64_t count) {
  const int64_t m = a.size(0);
  if (m <= kExactEigenSize) return std::get<1>(torch::linalg_eigh(a)).narrow(1, m - count, count).flip(1);
  auto generator = at::detail::createCPUGenerator(0);
  auto basis = std::get<0>(torch::linalg_qr(torch::randn({m, std::min(m, count + 10)}, generator, torch::kDouble)));
  for (int64_t step = 0;; ++step) {
    auto image = a.mm(basis);
    auto [values, vectors] = torch::linalg_eigh(basis.t().mm(image));
    values = values.flip(0), vectors = vectors.flip(1);
    auto ritz = basis.mm(vectors), ritz_image = image.mm(vectors);
    const double residual = (ritz_image.narrow(1, 0, count) - ritz.narrow(1, 0, count) * values.narrow(0, 0, count))
                                .norm(2, 0).max().item<double>();
    if (residual <= 1e-10 * values[0].item<double>() || step == kMaxSubspaceSteps) return ritz.narrow(1, 0, count);
    basis = std::get<0>(torch::linalg_qr(ritz_image));
  }
}

void check_features(const char* function, const torch::Tensor& features, int64_t min_rows) {
  TORCH_CHECK_VALUE(features.dim() == 2 && features.size(0) >= min_rows && features.size(1) >= 1, function,
                    ": expected features [N, D] with N >= ", min_rows, " and D >= 1, got ", features.sizes());
  const int64_t bad = features.isfinite().logical_not().sum().item<int64_t>();
  TORCH_CHECK_VALUE(bad == 0, function, ": features hold ", bad, " non-finite values");
}

}  // namespace

torch::Tensor pca_2d(const torch::Tensor& features) {
  check_features("pca_2d", features, 2);
  torch::NoGradGuard no_grad;
  auto x = features.to(torch::kCPU, torch::kDouble);
  x = x - x.mean(0, true);
  const int64_t n = x.size(0), d = x.size(1);
  torch::Tensor axes;
  if (d <= n) {
    axes = leading_eigenvectors(x.t().mm(x), std::min<int64_t>(2, d));
  } else {
    // Fewer rows than dimensions: the axes are X^T u / |X^T u| of the leading eigenvectors u of the N x N Gram matrix.
    axes = x.t().mm(leading_eigenvectors(x.mm(x.t()), 2));
    const auto norms = axes.norm(2, 0, true);
    axes = torch::where(norms > 0, axes / norms, torch::zeros_like(axes));
  }
  axes = axes * axes.gather(0, axes.abs().argmax(0, true)).sign();
  auto projected = x.mm(axes);
  if (projected.size(1) == 1) projected = torch::cat({projected, torch::zeros_like(projected)}, 1);
  return projected.to(torch::kFloat).contiguous();
}

torch::Tensor tsne_affinities(const torch::Tensor& squared_distances, double perplexity) {
  TORCH_CHECK_VALUE(squared_distances.dim() == 2 && squared_distances.size(0) == squared_distances.size(1) &&
                        squared_distances.size(0) >= 3,
                    "tsne_affinities: expected square distances [N, N] with N >= 3, got ", squared_distances.sizes());
  const int64_t n = squared_distances.size(0);
  TORCH_CHECK_VALUE(perplexity > 1 && perplexity < static_cast<double>(n - 1),
                    "tsne_affinities: perplexity must be in (1, ", n - 1, ") for ", n, " points, got ", perplexity);
  torch::NoGradGuard no_grad;
  // N x N buffers are allocated once: a fresh one per search step costs more than the step's arithmetic.
  auto d = squared_distances.to(torch::kCPU, torch::kDouble, false, true).contiguous();
  // Shifting each row by its smallest off-diagonal distance leaves P_j|i unchanged and keeps exp from underflowing.
  d.fill_diagonal_(std::numeric_limits<double>::infinity());
  d.sub_(d.amin(1, true)).fill_diagonal_(0);
  auto p = torch::empty_like(d), weighted = torch::empty_like(d);
  const double target = std::log(perplexity);
  auto beta = torch::ones({n, 1}, torch::kDouble), low = torch::zeros({n, 1}, torch::kDouble);
  auto high = torch::full({n, 1}, std::numeric_limits<double>::infinity(), torch::kDouble);
  for (int64_t step = 0;; ++step) {
    torch::mul_out(p, d, -beta).exp_().fill_diagonal_(0);
    auto sum = p.sum(1, true);
    auto entropy = sum.log() + beta * torch::mul_out(weighted, d, p).sum(1, true) / sum;
    auto error = entropy - target;
    auto done = error.abs() <= kEntropyTolerance;
    if (done.all().item<bool>() || step == kMaxSearchSteps) return p.div_(sum);
    auto too_flat = error > 0;
    low = torch::where(too_flat, beta, low);
    high = torch::where(too_flat, high, beta);
    auto next = torch::where(too_flat, torch::where(high.isinf(), beta * 2, (beta + high) / 2), (beta + low) / 2);
    beta = torch::where(done, beta, next);
  }
}

torch::Tensor tsne_2d(const torch::Tensor& features, const TsneOptions& options) {
  check_features("tsne_2d", features, 3);
  const int64_t n = features.size(0);
  TORCH_CHECK_VALUE(options.perplexity() > 1 && options.perplexity() < static_cast<double>(n - 1),
                    "tsne_2d: perplexity must be in (1, N - 1) = (1, ", n - 1, ") for N = ", n, " points, got ",
                    options.perplexity());
  TORCH_CHECK_VALUE(options.iterations() >= 0 && options.exaggeration_iterations() >= 0,
                    "tsne_2d: iterations and exaggeration_iterations must be >= 0, got ", options.iterations(),
                    " and ", options.exaggeration_iterations());
  TORCH_CHECK_VALUE(options.early_exaggeration() >= 1 && std::isfinite(options.early_exaggeration()),
                    "tsne_2d: early_exaggeration must be >= 1, got ", options.early_exaggeration());
  TORCH_CHECK_VALUE(options.learning_rate() >= 0 && std::isfinite(options.learning_rate()),
                    "tsne_2d: learning_rate must be >= 0 (0: auto), got ", options.learning_rate());
  torch::NoGradGuard no_grad;
  auto p = torch::empty({n, n}, torch::kFloat);
  {
    auto conditional = tsne_affinities(squared_distances(features.to(torch::kCPU, torch::kDouble)),
                                       options.perplexity());
    torch::add_out(p, conditional, conditional.t()).div_(2.0 * static_cast<double>(n)).clamp_min_(kMinAffinity);
  }
  const double learning_rate = options.learning_rate() > 0
                                   ? options.learning_rate()
                                   : std::max(static_cast<double>(n) / options.early_exaggeration() / 4, 50.0);
  auto generator = at::detail::createCPUGenerator(options.seed());
  auto u = torch::randn({n, 2}, generator, torch::kFloat) * 1e-4f;
  u -= u.mean(0, true);
  // The points are scale * u with a power-of-two scale that keeps max |u| in [1, 2): early exaggeration can shrink an
  // unclustered map from 1e-4 to 1e-31 (3000 isotropic points in 16-d), where float32 squares underflow and
  // denormals made iterations three times slower.
  double scale = 1;
  auto velocity = torch::zeros_like(u), gains = torch::ones_like(u);
  auto renormalize = [&] {
    const double largest = u.abs().max().item<double>();
    if (largest == 0) return;
    int exponent = 0;
    std::frexp(largest, &exponent);
    const double factor = std::ldexp(1.0, exponent - 1);
    u /= factor, velocity /= factor, scale *= factor;
  };
  renormalize();
  for (int64_t it = 0; it < options.iterations(); ++it) {
    const bool early = it < options.exaggeration_iterations();
    auto gradient = tsne_gradient(p, u, scale, early ? options.early_exaggeration() : 1.0);
    auto same_sign = (gradient > 0) == (velocity > 0);
    gains = torch::where(same_sign, gains * 0.8, gains + 0.2).clamp_min_(0.01);
    velocity = velocity * (early ? 0.5 : 0.8) - gains * gradient * learning_rate;
    u = u + velocity;
    u = u - u.mean(0, true);
    renormalize();
  }
  return (u * scale).contiguous();
}

EmbeddingMap embedding_map(const torch::Tensor& features, const torch::Tensor& labels,
                           const EmbeddingMapOptions& options) {
  check_features("embedding_map", features, 2);
  const int64_t n = features.size(0);
  TORCH_CHECK_VALUE(labels.dim() == 1 && labels.size(0) == n, "embedding_map: ", n,
                    " feature rows but labels of shape ", labels.sizes());
  TORCH_CHECK_VALUE(options.tsne_points() >= 0, "embedding_map: tsne_points must be >= 0, got ", options.tsne_points());
  EmbeddingMap map;
  map.labels = labels.to(torch::kCPU, torch::kInt64).contiguous();
  map.pca = pca_2d(features);
  const int64_t m = std::min(n, options.tsne_points());
  if (m < kMinTsneRows) {
    map.tsne = torch::zeros({0, 2}, torch::kFloat);
    map.tsne_indices = torch::zeros({0}, torch::kInt64);
    return map;
  }
  auto generator = at::detail::createCPUGenerator(options.seed());
  map.tsne_indices = std::get<0>(torch::randperm(n, generator, torch::kInt64).narrow(0, 0, m).sort());
  auto tsne = options.tsne();
  tsne.perplexity(std::min(tsne.perplexity(), static_cast<double>(m - 1) / 3));
  map.tsne = tsne_2d(features.to(torch::kCPU).index_select(0, map.tsne_indices), tsne);
  return map;
}

const std::vector<Rgb>& label_palette() {
  static const std::vector<Rgb> palette = {{31, 119, 180}, {255, 127, 14},  {44, 160, 44},  {214, 39, 40},
                                           {148, 103, 189}, {140, 86, 75},   {227, 119, 194}, {127, 127, 127},
                                           {188, 189, 34},  {23, 190, 207}};
  return palette;
}

std::string to_hex(Rgb color) {
  char text[8];
  std::snprintf(text, sizeof text, "#%02x%02x%02x", color.r, color.g, color.b);
  return text;
}

void write_scatter_png(const torch::Tensor& points, const torch::Tensor& labels,
                       const std::vector<std::string>& class_names, const std::string& title, const std::string& path) {
  TORCH_CHECK_VALUE(points.dim() == 2 && points.size(1) == 2, "scatter PNG: expected points [M, 2], got ",
                    points.sizes());
  TORCH_CHECK_VALUE(labels.dim() == 1 && labels.size(0) == points.size(0), "scatter PNG: ", points.size(0),
                    " points but labels of shape ", labels.sizes());
  const int64_t m = points.size(0);
  const auto xy = points.to(torch::kCPU, torch::kDouble).contiguous();
  const auto label = labels.to(torch::kCPU, torch::kInt64).contiguous();
  TORCH_CHECK_VALUE(xy.isfinite().all().item<bool>(), "scatter PNG: points must be finite");
  TORCH_CHECK_VALUE(m == 0 || label.min().item<int64_t>() >= 0, "scatter PNG: labels must be >= 0, got ",
                    m ? label.min().item<int64_t>() : 0);
  const int64_t classes =
      std::max<int64_t>(m ? label.max().item<int64_t>() + 1 : 0, static_cast<int64_t>(class_names.size()));
  std::vector<std::string> names;
  int64_t name_width = 0;
  for (int64_t k = 0; k < classes; ++k) {
    names.push_back(k < static_cast<int64_t>(class_names.size()) ? class_names[static_cast<size_t>(k)]
                                                                   : std::to_string(k));
    name_width = std::max(name_width, Canvas::text_width(names.back(), 2));
  }
  constexpr int64_t left = 20, top = 40, side = 600, inset = 10, row = 20, font = 2;
  const int64_t legend = left + side + 20;
  const Rgb white{255, 255, 255}, black{0, 0, 0}, frame{200, 200, 200};
  Canvas canvas(std::max(top + side + 20, top + classes * row + 20), legend + 16 + name_width + 20, white);
  canvas.text(left, 12, title, black, font);
  canvas.fill(left, top, left + side - 1, top, frame);
  canvas.fill(left, top + side - 1, left + side - 1, top + side - 1, frame);
  canvas.fill(left, top, left, top + side - 1, frame);
  canvas.fill(left + side - 1, top, left + side - 1, top + side - 1, frame);
  const auto& palette = label_palette();
  auto colour = [&](int64_t k) { return palette[static_cast<size_t>(k) % palette.size()]; };
  for (int64_t k = 0; k < classes; ++k) {
    const int64_t y = top + k * row;
    canvas.fill(legend, y, legend + 9, y + 9, colour(k));
    canvas.text(legend + 16, y, names[static_cast<size_t>(k)], black, font);
  }
  if (m > 0) {
    const auto low = std::get<0>(xy.min(0)), high = std::get<0>(xy.max(0));
    const auto centre = ((low + high) / 2).contiguous();
    const double span = (high - low).max().item<double>();
    const double scale = span > 0 ? static_cast<double>(side - 1 - 2 * inset) / span : 0.0;
    const double cx = centre[0].item<double>(), cy = centre[1].item<double>();
    const double mid_x = static_cast<double>(left) + (side - 1) / 2.0;
    const double mid_y = static_cast<double>(top) + (side - 1) / 2.0;
    const double* p = xy.data_ptr<double>();
    const int64_t* l = label.data_ptr<int64_t>();
    auto generator = at::detail::createCPUGenerator(0);
    const auto order = torch::randperm(m, generator, torch::kInt64);
    const int64_t* o = order.data_ptr<int64_t>();
    for (int64_t i = 0; i < m; ++i) {
      const int64_t r = o[i];
      const int64_t x = std::lround(mid_x + (p[2 * r] - cx) * scale);
      const int64_t y = std::lround(mid_y - (p[2 * r + 1] - cy) * scale);
      canvas.fill(x - 1, y - 1, x + 1, y + 1, colour(l[r]));
    }
  }
  canvas.write_png(path);
}

}  // namespace ssl::eval
