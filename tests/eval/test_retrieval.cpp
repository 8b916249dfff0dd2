#include "sslkit/trainers/eval/retrieval.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace E = ssl::eval;

namespace {

// Unit vectors at these angles in degrees, [N, 2].
torch::Tensor at_degrees(const std::vector<double>& degrees) {
  auto a = torch::tensor(degrees, torch::kDouble) * (M_PI / 180.0);
  return torch::stack({torch::cos(a), torch::sin(a)}, 1).to(torch::kFloat);
}

double precision_at(const E::RetrievalResult& r, int64_t k) {
  for (const auto& [cutoff, value] : r.precision_at)
    if (cutoff == k) return value;
  FAIL("no precision@" << k);
  return -1;
}

}  // namespace

TEST_CASE("Retrieval scores a ranking worked out by hand", "[eval][retrieval]") {
  // Gallery at 0, 10, 20, 90, 100, 180 degrees with labels 0 1 0 1 0 2.
  const auto gallery = at_degrees({0, 10, 20, 90, 100, 180});
  const auto gallery_labels = torch::tensor({0, 1, 0, 1, 0, 2}, torch::kLong);
  // Query at 2 degrees, label 0: ranks g0 g1 g2 g3 g4 g5, relevant at ranks 1, 3, 5 (R = 3):
  //   AP = (1/1 + 2/3 + 3/5) / 3 = 34/45; AP@R counts ranks 1..3: (1/1 + 2/3) / 3 = 5/9.
  // Query at 93 degrees, label 1: ranks g3 g4 g2 g1 g5 g0, relevant at ranks 1 and 4 (R = 2):
  //   AP = (1/1 + 2/4) / 2 = 3/4; AP@R counts ranks 1..2: (1/1) / 2 = 1/2.
  // Query at 45 degrees with label 3, which no gallery item has: left out of every mean.
  const auto queries = at_degrees({2, 93, 45});
  const auto query_labels = torch::tensor({0, 1, 3}, torch::kLong);
  const auto r = E::retrieval(gallery, gallery_labels, queries, query_labels,
                              E::RetrievalOptions().precision_at({1, 2, 4, 10}));
  CHECK(r.queries == 2);
  CHECK(r.queries_without_relevant == 1);
  CHECK(r.gallery == 6);
  CHECK(r.feature_dim == 2);
  CHECK(r.mean_average_precision == Approx((34.0 / 45 + 3.0 / 4) / 2).epsilon(1e-12));
  CHECK(r.map_at_r == Approx((5.0 / 9 + 1.0 / 2) / 2).epsilon(1e-12));
  CHECK(precision_at(r, 1) == 1.0);
  CHECK(precision_at(r, 2) == 0.5);
  // Ranks 1..4: query 0 has g0, g2 (2 of 4), query 1 has g3, g1 (2 of 4).
  CHECK(precision_at(r, 4) == 0.5);
  // k = 10 is capped at the 6 gallery items: 3/6 and 2/6.
  CHECK(precision_at(r, 10) == Approx(5.0 / 12).epsilon(1e-12));
}

TEST_CASE("Retrieval breaks ties by gallery order and ignores feature scale", "[eval][retrieval]") {
  const auto twins = torch::tensor({{1.0f, 0.0f}, {1.0f, 0.0f}});
  const auto query = torch::tensor({{3.0f, 0.0f}});
  // The relevant item second among equals: AP = 1/2; first: AP = 1.
  CHECK(E::retrieval(twins, torch::tensor({1, 0}, torch::kLong), query, torch::tensor({0}, torch::kLong))
            .mean_average_precision == 0.5);
  CHECK(E::retrieval(twins * 1e-12, torch::tensor({0, 1}, torch::kLong), query, torch::tensor({0}, torch::kLong))
            .mean_average_precision == 1.0);
}

TEST_CASE("Retrieval equals a direct per-query computation on random data", "[eval][retrieval]") {
  torch::manual_seed(21);
  const auto gallery = torch::randn({300, 16}), queries = torch::randn({37, 16});
  const auto gallery_labels = torch::randint(0, 5, {300}, torch::kLong);
  const auto query_labels = torch::randint(0, 5, {37}, torch::kLong);
  // Query batches of 8 so that the last batch is partial.
  const auto r = E::retrieval(gallery, gallery_labels, queries, query_labels,
                              E::RetrievalOptions().query_batch(8).precision_at({1, 10, 100}));
  // The reference: cosine in double, a stable sort of each query's gallery, the definitions read literally.
  const auto g = gallery.to(torch::kDouble), q = queries.to(torch::kDouble);
  double ap_sum = 0, ap_r_sum = 0, p10_sum = 0;
  for (int64_t i = 0; i < 37; ++i) {
    std::vector<double> cosine(300);
    for (int64_t j = 0; j < 300; ++j) {
      cosine[j] = (q[i] * g[j]).sum().item<double>() / (q[i].norm().item<double>() * g[j].norm().item<double>());
    }
    std::vector<int64_t> order(300);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return cosine[a] > cosine[b]; });
    const int64_t label = query_labels[i].item<int64_t>();
    int64_t R = 0;
    for (int64_t j = 0; j < 300; ++j) R += gallery_labels[j].item<int64_t>() == label;
    double ap = 0, ap_r = 0;
    int64_t hits = 0;
    for (int64_t rank = 1; rank <= 300; ++rank) {
      if (gallery_labels[order[rank - 1]].item<int64_t>() != label) continue;
      ++hits;
      ap += static_cast<double>(hits) / rank;
      if (rank <= R) ap_r += static_cast<double>(hits) / rank;
    }
    int64_t top10 = 0;
    for (int64_t rank = 0; rank < 10; ++rank) top10 += gallery_labels[order[rank]].item<int64_t>() == label;
    ap_sum += ap / R;
    ap_r_sum += ap_r / R;
    p10_sum += top10 / 10.0;
  }
  // Float cosines against double ones: no two of a query's cosines are within float rounding here (a swapped
  // pair would change AP by far more than 1e-9), so the rankings and the means agree to double rounding.
  CHECK(r.queries == 37);
  CHECK(r.mean_average_precision == Approx(ap_sum / 37).epsilon(1e-12));
  CHECK(r.map_at_r == Approx(ap_r_sum / 37).epsilon(1e-12));
  CHECK(precision_at(r, 10) == Approx(p10_sum / 37).epsilon(1e-12));
}

TEST_CASE("Retrieval refuses inputs that do not fit, naming their shapes", "[eval][retrieval]") {
  const auto x = torch::randn({4, 3}), y = torch::zeros({4}, torch::kLong);
  CHECK_THROWS_WITH(E::retrieval(x, y, torch::randn({2, 5}), torch::zeros({2}, torch::kLong)),
                    Catch::Contains("retrieval: expected gallery [G, D] and query [Q, D] features of one width, got [4, 3] and [2, 5]"));
  CHECK_THROWS_WITH(E::retrieval(x, y.narrow(0, 0, 3), x, y),
                    Catch::Contains("retrieval: the gallery has 4 feature rows but labels of shape [3]"));
  CHECK_THROWS_WITH(E::retrieval(x, y, x, y, E::RetrievalOptions().precision_at({0})),
                    Catch::Contains("retrieval: precision@k needs k > 0, got 0"));
}
