// ssl::eval's 2-D maps of an embedding: PCA against projections known by construction, t-SNE's affinities against
// the perplexity they are searched for and its maps against the neighbourhoods of clustered data, the seeded subset
// of embedding_map, and the pixels of the scatter PNG.
#include "errors.h"
#include "temp_dir.h"

#include "sslkit/trainers/eval/embedding_map.h"

#include <catch2/catch.hpp>
#include <zlib.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>

namespace E = ssl::eval;
using ssl::testing::error_message;
using ssl::testing::TempDir;

namespace {

// `count` seeded scores with mean 0, sample variance exactly `variance`, orthogonal to every column of `against`.
torch::Tensor scores(int64_t count, double variance, const std::vector<torch::Tensor>& against) {
  auto s = torch::randn({count}, torch::kDouble);
  s -= s.mean();
  for (const auto& a : against) s -= a * (s.dot(a) / a.dot(a));
  return s * std::sqrt(variance * static_cast<double>(count - 1) / s.dot(s).item<double>());
}

// Rows t1 a1 + t2 a2 + t3 a3 + offset for orthonormal axes a1, a2, a3 [D] and orthogonal centred scores of variances
// 9, 1 and 1e-4: the covariance is exactly 9 a1 a1^T + a2 a2^T + 1e-4 a3 a3^T, so the PCA coordinates are t1, t2
// up to the sign rule.
struct KnownAxes {
  torch::Tensor features, t1, t2;
};
KnownAxes known_axes(int64_t n, const torch::Tensor& a1, const torch::Tensor& a2, const torch::Tensor& a3) {
  KnownAxes k;
  k.t1 = scores(n, 9.0, {});
  k.t2 = scores(n, 1.0, {k.t1});
  const auto t3 = scores(n, 1e-4, {k.t1, k.t2});
  const auto offset = torch::linspace(-3, 5, a1.size(0), torch::kDouble);
  k.features = (torch::outer(k.t1, a1) + torch::outer(k.t2, a2) + torch::outer(t3, a3) + offset).to(torch::kFloat);
  return k;
}

torch::Tensor axis(std::vector<double> values) {
  auto a = torch::tensor(values, torch::kDouble);
  return a / a.norm();
}

// Indices [N, k] of each row's k nearest other rows (Euclidean).
torch::Tensor nearest(const torch::Tensor& x, int64_t k) {
  auto d = torch::cdist(x.to(torch::kDouble), x.to(torch::kDouble));
  d.fill_diagonal_(std::numeric_limits<double>::infinity());
  return std::get<1>(d.topk(k, 1, false));
}

// Share of each row's k nearest rows of `map` that carry its label.
double label_agreement(const torch::Tensor& map, const torch::Tensor& labels, int64_t k) {
  return labels.index({nearest(map, k)}).eq(labels.unsqueeze(1)).to(torch::kDouble).mean().item<double>();
}

// Share of each row's k_in nearest rows of `features` that are among its k_out nearest rows of `map`.
double neighbours_kept(const torch::Tensor& features, const torch::Tensor& map, int64_t k_in, int64_t k_out) {
  auto in = nearest(features, k_in), out = nearest(map, k_out);
  return in.unsqueeze(2).eq(out.unsqueeze(1)).any(2).to(torch::kDouble).mean().item<double>();
}

// 400 points in 20-d, 80 per label, around 5 centres drawn N(0, 1.5^2) per coordinate with unit noise: every
// point's 10 nearest neighbours share its label in 20-d (agreement 0.99975), but not in the 2-D PCA map (0.882).
std::pair<torch::Tensor, torch::Tensor> five_clusters() {
  torch::manual_seed(21);
  auto centres = torch::randn({5, 20}) * 1.5;
  auto labels = torch::arange(400, torch::kInt64) % 5;
  return {centres.index_select(0, labels) + torch::randn({400, 20}), labels};
}

// The RGB pixels [H, W, 3] of a PNG written by ssl::Canvas (one IDAT chunk, filter byte 0 on every row).
torch::Tensor read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  REQUIRE(png.substr(12, 4) == "IHDR");
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  const int64_t width = be32(16), height = be32(20);
  const size_t idat = 8 + 12 + 13;
  REQUIRE(png.substr(idat + 4, 4) == "IDAT");
  std::string raw(static_cast<size_t>(height * (1 + width * 3)), '\0');
  uLongf size = raw.size();
  REQUIRE(uncompress(reinterpret_cast<Bytef*>(raw.data()), &size, reinterpret_cast<const Bytef*>(png.data() + idat + 8),
                     be32(idat)) == Z_OK);
  REQUIRE(size == raw.size());
  auto rows = torch::from_blob(raw.data(), {height, 1 + width * 3}, torch::kUInt8);
  return rows.narrow(1, 1, width * 3).reshape({height, width, 3}).clone();
}

std::vector<int> pixel(const torch::Tensor& image, int64_t x, int64_t y) {
  auto p = image[y][x];
  return {p[0].item<int>(), p[1].item<int>(), p[2].item<int>()};
}

std::vector<int> rgb(ssl::Rgb c) { return {c.r, c.g, c.b}; }

}  // namespace

TEST_CASE("PCA gives the projections on principal axes known by construction, signed by the largest loading",
          "[eval][map]") {
  torch::manual_seed(31);
  // Axis 1 (1, 1, 0)/sqrt2 with variance 9, axis 2 (0, 0, 1) with variance 1, (1, -1, 0)/sqrt2 with 1e-4: the
  // coordinates are exactly (t1, t2), both axes' largest loadings being positive. Float32 rounding of the input and
  // output (values below 12): measured 6e-7 off at most, the column variances exact to the printed digits.
  auto k = known_axes(200, axis({1, 1, 0}), axis({0, 0, 1}), axis({1, -1, 0}));
  auto map = E::pca_2d(k.features);
  REQUIRE(map.sizes() == torch::IntArrayRef({200, 2}));
  CHECK(map.dtype() == torch::kFloat);
  CHECK(torch::allclose(map.select(1, 0).to(torch::kDouble), k.t1, 0, 1e-5));
  CHECK(torch::allclose(map.select(1, 1).to(torch::kDouble), k.t2, 0, 1e-5));
  CHECK(map.select(1, 0).var().item<double>() == Approx(9.0).epsilon(1e-5));
  CHECK(map.select(1, 1).var().item<double>() == Approx(1.0).epsilon(1e-5));

  // The leading axis (0.6, -0.8, 0) has its largest loading negative: the axis is flipped to (-0.6, 0.8, 0), so the
  // first coordinate is -t1; flipping the data's axis gives the same map.
  auto negative = known_axes(200, axis({0.6, -0.8, 0}), axis({0, 0, 1}), axis({0.8, 0.6, 0}));
  auto flipped = E::pca_2d(negative.features);
  CHECK(torch::allclose(flipped.select(1, 0).to(torch::kDouble), -negative.t1, 0, 1e-5));
  CHECK(torch::allclose(flipped.select(1, 1).to(torch::kDouble), negative.t2, 0, 1e-5));
  auto same_axis = negative.features - torch::outer(2 * negative.t1, axis({0.6, -0.8, 0})).to(torch::kFloat);
  CHECK(torch::allclose(E::pca_2d(same_axis).select(1, 0).to(torch::kDouble), negative.t1, 0, 1e-5));
}

TEST_CASE("PCA of fewer rows than dimensions and of more than 500 dimensions matches the full eigendecomposition",
          "[eval][map]") {
  torch::manual_seed(32);
  // 50 rows in 80-d (the N x N Gram route) with known random orthonormal axes: measured 2e-7 off at most.
  auto q = std::get<0>(torch::linalg_qr(torch::randn({80, 3}, torch::kDouble)));
  auto k = known_axes(50, q.select(1, 0), q.select(1, 1), q.select(1, 2));
  auto map = E::pca_2d(k.features);
  const auto sign = [](const torch::Tensor& a) { return a.gather(0, a.abs().argmax(0, true)).sign(); };
  CHECK(torch::allclose(map.select(1, 0).to(torch::kDouble), k.t1 * sign(q.select(1, 0)), 0, 1e-5));
  CHECK(torch::allclose(map.select(1, 1).to(torch::kDouble), k.t2 * sign(q.select(1, 1)), 0, 1e-5));

  // 800 rows in 600-d with standard deviations 3, 2, then 1 / (1 + j / 10) (subspace iteration past 500): the
  // iteration stops at residual 1e-10 of the top eigenvalue, an axis error of ~1e-10 * 9 / (4 - 1); the float32
  // output rounds at 6e-8 of the largest coordinate (measured: 4e-8 of it off at most).
  auto scale = torch::cat({torch::tensor({3.0, 2.0}), 1 / (1 + torch::arange(598, torch::kDouble) / 10)});
  auto x = (torch::randn({800, 600}, torch::kDouble) * scale).to(torch::kFloat);
  auto centred = x.to(torch::kDouble) - x.to(torch::kDouble).mean(0, true);
  auto axes = std::get<1>(torch::linalg_eigh(centred.t().mm(centred))).narrow(1, 598, 2).flip(1);
  auto expected = centred.mm(axes * sign(axes));
  auto got = E::pca_2d(x).to(torch::kDouble);
  CHECK((got - expected).abs().max().item<double>() <= 1e-5 * expected.abs().max().item<double>());
}

TEST_CASE("PCA of one dimension is the centred column and zeros, and PCA refuses bad input", "[eval][map]") {
  auto map = E::pca_2d(torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 10.0f}).unsqueeze(1));
  CHECK(torch::equal(map.select(1, 0), torch::tensor({-3.0f, -2.0f, -1.0f, 0.0f, 6.0f})));
  CHECK(torch::equal(map.select(1, 1), torch::zeros({5})));
  CHECK(error_message([] { E::pca_2d(torch::zeros({1, 3})); }) ==
        "pca_2d: expected features [N, D] with N >= 2 and D >= 1, got [1, 3]");
  CHECK(error_message([] { E::pca_2d(torch::zeros({6})); }) ==
        "pca_2d: expected features [N, D] with N >= 2 and D >= 1, got [6]");
  auto bad = torch::zeros({4, 3});
  bad[1][2] = std::numeric_limits<float>::quiet_NaN();
  bad[3][0] = std::numeric_limits<float>::infinity();
  CHECK(error_message([&] { E::pca_2d(bad); }) == "pca_2d: features hold 2 non-finite values");
}

TEST_CASE("t-SNE affinities are Gaussian rows searched to the perplexity", "[eval][map]") {
  torch::manual_seed(33);
  auto x = torch::randn({200, 10}, torch::kDouble) * torch::linspace(0.5, 3, 10, torch::kDouble);
  auto d = torch::cdist(x, x).pow(2);
  for (double perplexity : {5.0, 30.0, 150.0}) {
    auto p = E::tsne_affinities(d, perplexity);
    REQUIRE(p.dtype() == torch::kDouble);
    CHECK(torch::allclose(p.sum(1), torch::ones({200}, torch::kDouble), 0, 1e-12));
    CHECK(p.diagonal().abs().max().item<double>() == 0.0);
    // The search stops within 1e-5 nats of log(perplexity): exp(H) is within a relative 1e-5 of it.
    auto entropy = -(p * p.clamp_min(1e-300).log()).sum(1);
    CHECK((entropy.exp() / perplexity - 1).abs().max().item<double>() <= 1.0001e-5);
    // Gaussian in the squared distance: log p_ij + beta_i d_ij is one constant per row, beta_i read off the row's
    // nearest and farthest neighbours (rows with p above 1e-250, far from underflow: all 200 here). Measured spread
    // 6e-14 at most, float64 rounding of terms up to ~100.
    auto off = d + torch::eye(200, torch::kDouble) * 1e9;
    auto near = off.argmin(1, true), far = d.argmax(1, true);
    auto beta = (p.gather(1, near).log() - p.gather(1, far).log()) / (d.gather(1, far) - d.gather(1, near));
    auto rows = p.masked_fill(torch::eye(200, torch::kBool), 1).amin(1) > 1e-250;
    auto constant = p.log() + beta * d;
    auto spread = constant.masked_fill(torch::eye(200, torch::kBool), -1e300).amax(1) -
                  constant.masked_fill(torch::eye(200, torch::kBool), 1e300).amin(1);
    REQUIRE(rows.sum().item<int64_t>() > 100);
    CHECK(spread.masked_select(rows).max().item<double>() <= 1e-9);
  }
  CHECK(error_message([&] { E::tsne_affinities(d, 199); }) ==
        "tsne_affinities: perplexity must be in (1, 199) for 200 points, got 199");
  CHECK(error_message([&] { E::tsne_affinities(d.narrow(0, 0, 5), 3); }) ==
        "tsne_affinities: expected square distances [N, N] with N >= 3, got [5, 200]");
}

TEST_CASE("t-SNE's first steps descend the autograd gradient of the exaggerated KL cost with the reference gains",
          "[eval][map]") {
  auto [x, labels] = five_clusters();
  const auto x64 = x.to(torch::kDouble);
  const int64_t n = x.size(0);
  const auto conditional = E::tsne_affinities(torch::cdist(x64, x64).pow(2), 30);
  // Joint affinities floored at float64's machine epsilon, as scikit-learn's.
  const auto p = ((conditional + conditional.t()) / (2.0 * static_cast<double>(n))).clamp_min(2.220446049250313e-16);
  const auto start = E::tsne_2d(x, E::TsneOptions().iterations(0).seed(6));
  // N(0, 1e-4^2) per coordinate: 800 draws put the sample standard deviation within 2.5% (one sigma) of 1e-4.
  CHECK(start.std().item<double>() == Approx(1e-4).epsilon(0.1));
  // Cost -sum e p_ij log w_ij + log Z, w_ij = 1 / (1 + |y_i - y_j|^2), Z = sum_{i != j} w_ij: its gradient is
  // 4 sum_j (e p_ij - w_ij / Z) w_ij (y_i - y_j), the KL gradient of van der Maaten & Hinton 2008 (eq. 5).
  auto cost_gradient = [&](const torch::Tensor& at, double e) {
    auto y = at.detach().clone().requires_grad_(true);
    auto w = (1 + (y.unsqueeze(1) - y.unsqueeze(0)).pow(2).sum(2)).reciprocal();
    auto cost = -(e * p * w.log()).sum() + w.masked_select(torch::eye(n, torch::kBool).logical_not()).sum().log();
    cost.backward();
    return y.grad().detach();
  };
  struct Case {
    E::TsneOptions options;
    double exaggeration, learning_rate;
  };
  // The automatic learning rate max(N / early_exaggeration / 4, 50): 50 for 400 points at 12, 100 at 1.
  const auto first_step = E::TsneOptions().iterations(1).seed(6);
  for (const auto& c : {Case{first_step, 12, 50}, Case{E::TsneOptions(first_step).exaggeration_iterations(0), 1, 50},
                        Case{E::TsneOptions(first_step).early_exaggeration(1), 1, 100},
                        Case{E::TsneOptions(first_step).learning_rate(7), 12, 7}}) {
    const auto gradient = cost_gradient(start.to(torch::kDouble), c.exaggeration);
    // First step from zero velocity: gains 1 + 0.2 where the gradient is > 0 (it "disagrees" with the zero velocity),
    // 1 - 0.2 elsewhere; then the points are centred.
    auto step = -c.learning_rate * torch::where(gradient > 0, 1.2, 0.8) * gradient;
    auto expected = start.to(torch::kDouble) + step;
    expected -= expected.mean(0, true);
    const auto moved = E::tsne_2d(x, c.options);
    // The float32 kernel against float64 autograd: measured 0.9e-7 to 1.5e-7 of the largest step (the same at 1 and
    // 2 threads), float32 rounding; 1e-5 leaves room for another compiler's.
    CHECK(((moved.to(torch::kDouble) - expected).abs().max() / step.abs().max()).item<double>() <= 1e-5);
  }
  // A second step, after one exaggerated: exaggeration 1, momentum 0.8 on the first step's velocity, gains x0.8
  // where the new gradient has the velocity's sign and +0.2 elsewhere. Measured 3e-7 of the step.
  const auto g0 = cost_gradient(start.to(torch::kDouble), 12);
  const auto gains = torch::where(g0 > 0, 1.2, 0.8), velocity = -50 * gains * g0;
  auto y1 = start.to(torch::kDouble) + velocity;
  y1 -= y1.mean(0, true);
  const auto g1 = cost_gradient(y1, 1);
  const auto step = 0.8 * velocity - 50 * torch::where((g1 > 0) == (velocity > 0), gains * 0.8, gains + 0.2) * g1;
  auto y2 = y1 + step;
  y2 -= y2.mean(0, true);
  const auto two = E::tsne_2d(x, E::TsneOptions(first_step).iterations(2).exaggeration_iterations(1));
  CHECK(((two.to(torch::kDouble) - y2).abs().max() / step.abs().max()).item<double>() <= 1e-5);
}

TEST_CASE("t-SNE keeps the clusters and the neighbourhoods of clustered data", "[eval][map]") {
  auto [x, labels] = five_clusters();
  auto map = E::tsne_2d(x, E::TsneOptions().seed(4));
  REQUIRE(map.sizes() == torch::IntArrayRef({400, 2}));
  CHECK(map.dtype() == torch::kFloat);
  // Measured on these points with seeds 0..9: 10-NN label agreement 1.0 every time (the PCA map: 0.882, a random
  // map: 0.197); the share of each point's 10 nearest 20-d neighbours among its 30 nearest on the map 0.744..0.760
  // (PCA: 0.493, random: 0.086, t-SNE stopped after its 250 exaggerated iterations: 0.315). Both are the same at 1
  // and 2 threads (the maps are bitwise equal). The bounds sit below the seeds' spread by 3 times its width.
  CHECK(label_agreement(map, labels, 10) >= 0.97);
  CHECK(neighbours_kept(x, map, 10, 30) >= 0.70);
  // Centred every step: the mean is float rounding of 400 coordinates of spread ~20 (measured <= 5.4e-7).
  CHECK(map.mean(0).abs().max().item<double>() <= 1e-4);
}

TEST_CASE("t-SNE is deterministic for a seed, leaves the global RNG alone and validates its options", "[eval][map]") {
  auto [x, labels] = five_clusters();
  const auto options = E::TsneOptions().iterations(300).seed(9);
  torch::manual_seed(5);
  const auto a = E::tsne_2d(x, options);
  const auto after = torch::rand({4});
  torch::manual_seed(5);
  CHECK(torch::equal(after, torch::rand({4})));  // nothing was drawn from the global RNG
  const auto b = E::tsne_2d(x, options);         // nor does its state matter
  CHECK(torch::equal(a, b));
  CHECK_FALSE(torch::allclose(a, E::tsne_2d(x, E::TsneOptions(options).seed(10)), 1e-3, 1e-3));
  CHECK(error_message([&] { E::tsne_2d(x.narrow(0, 0, 10)); }) ==
        "tsne_2d: perplexity must be in (1, N - 1) = (1, 9) for N = 10 points, got 30");
  CHECK(error_message([&] { E::tsne_2d(x.narrow(0, 0, 2), E::TsneOptions().perplexity(1.5)); }) ==
        "tsne_2d: expected features [N, D] with N >= 3 and D >= 1, got [2, 20]");
  CHECK(error_message([&] { E::tsne_2d(x, E::TsneOptions().learning_rate(-1)); }) ==
        "tsne_2d: learning_rate must be >= 0 (0: auto), got -1");
}

TEST_CASE("embedding_map maps all rows by PCA and a seeded sorted subset by t-SNE", "[eval][map]") {
  torch::manual_seed(34);
  auto features = torch::randn({300, 8});
  auto labels = torch::randint(0, 4, {300}, torch::kInt32);
  const auto tsne = E::TsneOptions().iterations(100).seed(2);
  const auto options = E::EmbeddingMapOptions().tsne_points(120).tsne(tsne).seed(7);
  auto map = E::embedding_map(features, labels, options);
  CHECK(torch::equal(map.pca, E::pca_2d(features)));
  CHECK(torch::equal(map.labels, labels.to(torch::kInt64)));
  REQUIRE(map.tsne_indices.sizes() == torch::IntArrayRef({120}));
  CHECK(map.tsne_indices.dtype() == torch::kInt64);
  CHECK((map.tsne_indices.diff() > 0).all().item<bool>());
  CHECK(map.tsne_indices.min().item<int64_t>() >= 0);
  CHECK(map.tsne_indices.max().item<int64_t>() < 300);
  CHECK(torch::equal(map.tsne, E::tsne_2d(features.index_select(0, map.tsne_indices), tsne)));

  auto again = E::embedding_map(features, labels, options);
  CHECK(torch::equal(again.tsne_indices, map.tsne_indices));
  CHECK(torch::equal(again.tsne, map.tsne));
  auto other = E::embedding_map(features, labels, E::EmbeddingMapOptions(options).seed(8));
  CHECK_FALSE(torch::equal(other.tsne_indices, map.tsne_indices));

  auto off = E::embedding_map(features, labels, E::EmbeddingMapOptions().tsne_points(0));
  CHECK(off.tsne.sizes() == torch::IntArrayRef({0, 2}));
  CHECK(off.tsne_indices.sizes() == torch::IntArrayRef({0}));
  CHECK(torch::equal(off.pca, map.pca));

  // 20 rows cannot carry perplexity 30: it is lowered to (20 - 1) / 3, as openTSNE does.
  auto small = E::embedding_map(features.narrow(0, 0, 20), labels.narrow(0, 0, 20),
                                E::EmbeddingMapOptions().tsne(tsne));
  CHECK(torch::equal(small.tsne_indices, torch::arange(20)));
  CHECK(torch::equal(small.tsne, E::tsne_2d(features.narrow(0, 0, 20), E::TsneOptions(tsne).perplexity(19.0 / 3))));
  // 4 rows: perplexity 1 would be the most, too few for t-SNE.
  auto tiny = E::embedding_map(features.narrow(0, 0, 4), labels.narrow(0, 0, 4), E::EmbeddingMapOptions().tsne(tsne));
  CHECK(tiny.pca.sizes() == torch::IntArrayRef({4, 2}));
  CHECK(tiny.tsne.sizes() == torch::IntArrayRef({0, 2}));
  CHECK(tiny.tsne_indices.sizes() == torch::IntArrayRef({0}));
  auto five = E::embedding_map(features.narrow(0, 0, 5), labels.narrow(0, 0, 5), E::EmbeddingMapOptions().tsne(tsne));
  CHECK(five.tsne.sizes() == torch::IntArrayRef({5, 2}));
  CHECK(error_message([&] { E::embedding_map(features, labels.narrow(0, 0, 5)); }) ==
        "embedding_map: 300 feature rows but labels of shape [5]");
}

TEST_CASE("The scatter PNG draws each point as a 3x3 dot in its label's palette colour, with a legend",
          "[eval][map]") {
  const auto& palette = E::label_palette();
  REQUIRE(palette.size() >= 10);
  CHECK(E::to_hex(palette[0]) == "#1f77b4");  // Tableau 10's blue, then orange
  CHECK(E::to_hex(palette[1]) == "#ff7f0e");
  TempDir dir;
  // Bounding box [0, 2] x [0, 1]: scale 579 / 2 pixels per unit into the 600-pixel square at (20, 40), centred at
  // pixel (319.5, 339.5): (0, 0) -> (30, 484), (2, 1) -> (609, 195), (1, 0.5) -> (320, 340) (rounded half away).
  auto points = torch::tensor({0.0f, 0.0f, 2.0f, 1.0f, 1.0f, 0.5f}).view({3, 2});
  auto labels = torch::tensor({0, 1, 11}, torch::kInt64);
  E::write_scatter_png(points, labels, {"cat", "dog"}, "t-SNE", dir.file("map.png"));
  auto image = read_png(dir.file("map.png"));
  CHECK(image.size(0) == 660);
  CHECK(image.size(1) > 640 + ssl::Canvas::text_width("11", 2));
  for (auto [x, y, k] : std::vector<std::tuple<int64_t, int64_t, size_t>>{{30, 484, 0}, {609, 195, 1}, {320, 340, 1}}) {
    for (int64_t dy = -1; dy <= 1; ++dy)
      for (int64_t dx = -1; dx <= 1; ++dx) CHECK(pixel(image, x + dx, y + dy) == rgb(palette[k]));
    CHECK(pixel(image, x + 2, y) == std::vector<int>{255, 255, 255});
    CHECK(pixel(image, x, y - 2) == std::vector<int>{255, 255, 255});
  }
  // The legend's swatches, one row of 20 pixels per class from y = 40 (labels 0..11: 12 rows).
  CHECK(pixel(image, 645, 45) == rgb(palette[0]));
  CHECK(pixel(image, 645, 65) == rgb(palette[1]));
  CHECK(pixel(image, 645, 40 + 11 * 20 + 5) == rgb(palette[1]));
  CHECK(pixel(image, 645, 40 + 12 * 20 + 5) == std::vector<int>{255, 255, 255});
  // The title is black text in rows 12..21.
  CHECK(image.narrow(0, 12, 10).sum(2).eq(0).any().item<bool>());
  CHECK(error_message([&] { E::write_scatter_png(points.view({6}), labels, {}, "", dir.file("x.png")); }) ==
        "scatter PNG: expected points [M, 2], got [6]");
  CHECK(error_message([&] { E::write_scatter_png(points, -labels, {}, "", dir.file("x.png")); }) ==
        "scatter PNG: labels must be >= 0, got -11");
}
