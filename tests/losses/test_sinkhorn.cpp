#include "errors.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace L = ssl::losses;
using ssl::testing::error_message;

namespace {

// Independent float64 loop form of facebookresearch/swav distributed_sinkhorn (main_swav.py) on one process:
// Q[k][b] = exp(scores[b][k] / eps) / total; `iterations` times each prototype row is scaled to 1/K and then each
// sample column to 1/B; the codes are B * Q^T. No max shift, unlike the library's one-process path.
std::vector<std::vector<double>> reference_sinkhorn(const torch::Tensor& scores, double eps, int iterations) {
  const int64_t b = scores.size(0), k = scores.size(1);
  std::vector<std::vector<double>> q(k, std::vector<double>(b));
  double total = 0;
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < b; ++j) total += q[i][j] = std::exp(scores[j][i].item<double>() / eps);
  }
  for (auto& row : q) {
    for (auto& v : row) v /= total;
  }
  for (int it = 0; it < iterations; ++it) {
    for (auto& row : q) {
      double sum = 0;
      for (double v : row) sum += v;
      for (auto& v : row) v /= sum * k;
    }
    for (int64_t j = 0; j < b; ++j) {
      double sum = 0;
      for (int64_t i = 0; i < k; ++i) sum += q[i][j];
      for (int64_t i = 0; i < k; ++i) q[i][j] /= sum * b;
    }
  }
  std::vector<std::vector<double>> codes(b, std::vector<double>(k));
  for (int64_t j = 0; j < b; ++j) {
    for (int64_t i = 0; i < k; ++i) codes[j][i] = q[i][j] * b;
  }
  return codes;
}

// An in-process all-reduce for `ranks` threads: each call blocks until every rank has contributed its tensor, then
// every rank receives the sum. A rank can only start the next round after all have arrived, and the round's result is
// only replaced when all ranks have arrived again, so each rank reads its own round's sum.
class ThreadAllReduce {
 public:
  explicit ThreadAllReduce(int ranks) : ranks_(ranks) {}
  void operator()(torch::Tensor& t) {
    std::unique_lock<std::mutex> lock(mutex_);
    const int generation = generation_;
    sum_ = arrived_ == 0 ? t.clone() : sum_ + t;
    if (++arrived_ == ranks_) {
      result_ = sum_;
      arrived_ = 0;
      ++generation_;
      done_.notify_all();
    } else {
      done_.wait(lock, [&] { return generation_ != generation; });
    }
    t.copy_(result_);
  }

 private:
  const int ranks_;
  std::mutex mutex_;
  std::condition_variable done_;
  int arrived_ = 0, generation_ = 0;
  torch::Tensor sum_, result_;
};

}  // namespace

TEST_CASE("sinkhorn's first iteration on a 2x2 example equals its closed form", "[losses][sinkhorn]") {
  // scores = log M with M = [[1, 2], [3, 4]], eps = 1, one iteration: Q = M^T / 10 = [[1, 3], [2, 4]] / 10; rows to
  // 1/2: [[1/8, 3/8], [1/6, 1/3]]; columns to 1/2: column sums 7/24 and 17/24 give [[3/14, 9/34], [4/14, 8/34]];
  // times B = 2 and transposed: codes [[3/7, 4/7], [9/17, 8/17]].
  const auto scores = torch::log(torch::tensor({{1.0, 2.0}, {3.0, 4.0}}, torch::kDouble));
  const auto codes = L::sinkhorn(scores, L::SinkhornOptions().epsilon(1).iterations(1));
  const auto expected = torch::tensor({{3.0 / 7, 4.0 / 7}, {9.0 / 17, 8.0 / 17}}, torch::kDouble);
  CHECK(torch::allclose(codes, expected, 1e-14, 0));
}

TEST_CASE("sinkhorn matches an independent loop implementation of SwAV's", "[losses][sinkhorn]") {
  // Reference: reference_sinkhorn above (float64 loops, no max shift). Tolerance 1e-10 relative: the library's shift
  // by the max and the summation order change float64 results at ~1e-15 per operation.
  torch::manual_seed(13);
  for (const auto& [n, k, iterations] : {std::tuple<int64_t, int64_t, int>{6, 4, 3}, {3, 7, 1}, {5, 5, 10}}) {
    INFO("N=" << n << " K=" << k << " iterations " << iterations);
    const auto scores = torch::randn({n, k}, torch::kDouble);
    const auto codes = L::sinkhorn(scores, L::SinkhornOptions().iterations(iterations));
    const auto expected = reference_sinkhorn(scores, 0.05, iterations);
    REQUIRE(codes.sizes() == scores.sizes());
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = 0; i < k; ++i) CHECK(codes[j][i].item<double>() == Approx(expected[j][i]).epsilon(1e-10));
    }
    // Rows are assignments: they sum to 1 after the final column normalization.
    CHECK(torch::allclose(codes.sum(1), torch::ones({n}, torch::kDouble), 1e-12, 0));
  }
}

TEST_CASE("sinkhorn converges to an equipartition and carries no gradient", "[losses][sinkhorn]") {
  torch::manual_seed(14);
  // Cosine-like scores in [-1, 1] and eps = 0.5; after many rounds every prototype gets N / K samples' worth of mass.
  const auto scores = (torch::rand({12, 4}) * 2 - 1).requires_grad_();
  const auto codes = L::Sinkhorn(L::SinkhornOptions().epsilon(0.5).iterations(200))(scores);
  CHECK(codes.scalar_type() == torch::kFloat);
  CHECK_FALSE(codes.requires_grad());
  CHECK(torch::allclose(codes.sum(0), torch::full({4}, 3.0), 1e-4, 0));
  CHECK(torch::allclose(codes.sum(1), torch::ones({12}), 1e-5, 0));
  // A constant offset cancels (exp(offset / eps) divides out of Q / sum(Q)); 100 / 0.05 = 2000 would overflow exp
  // without the one-process max shift.
  const auto base = torch::rand({8, 5}, torch::kDouble);
  CHECK(torch::allclose(L::sinkhorn(base + 100), L::sinkhorn(base), 1e-10, 0));
}

TEST_CASE("sinkhorn with all_reduce_sum over two ranks equals sinkhorn of the global batch", "[losses][sinkhorn]") {
  // Two threads act as ranks with a blocking in-process all-reduce; each rank's codes must equal its rows of the
  // one-process codes of the concatenated [2N, K] scores (float64, 1e-12 relative: rounding order only).
  torch::manual_seed(15);
  const auto scores = torch::randn({10, 6}, torch::kDouble) * 0.5;
  const auto expected = L::sinkhorn(scores);
  ThreadAllReduce all_reduce(2);
  std::vector<torch::Tensor> codes(2);
  std::vector<std::thread> ranks;
  for (int rank = 0; rank < 2; ++rank) {
    ranks.emplace_back([&, rank] {
      const auto options = L::SinkhornOptions().world_size(2).all_reduce_sum([&](torch::Tensor& t) { all_reduce(t); });
      codes[rank] = L::sinkhorn(scores.narrow(0, 5 * rank, 5), options);
    });
  }
  for (auto& thread : ranks) thread.join();
  CHECK(torch::allclose(torch::cat(codes, 0), expected, 1e-12, 0));
}

TEST_CASE("sinkhorn rejects bad inputs and options with the offending values", "[losses][sinkhorn][errors]") {
  const auto a = torch::randn({4, 3});
  CHECK(error_message([&] { L::sinkhorn(a, L::SinkhornOptions().epsilon(-1)); }) ==
        "sinkhorn: epsilon must be > 0, got -1");
  CHECK(error_message([&] { L::sinkhorn(a, L::SinkhornOptions().iterations(0)); }) ==
        "sinkhorn: iterations must be >= 1, got 0");
  CHECK(error_message([&] { L::sinkhorn(a, L::SinkhornOptions().world_size(2)); }) ==
        "sinkhorn: world_size 2 needs an all_reduce_sum");
  CHECK(error_message([&] { L::Sinkhorn(L::SinkhornOptions().world_size(0)); }) ==
        "Sinkhorn: world_size must be >= 1, got 0");
  CHECK(error_message([] { L::sinkhorn(torch::randn({8})); }) ==
        "sinkhorn: scores must have 2 dimensions, got shape [8]");
  CHECK(error_message([] { L::sinkhorn(torch::randn({4, 0})); }) ==
        "sinkhorn: scores has no prototypes (shape [4, 0])");
  std::ostringstream printed;
  printed << *L::Sinkhorn();
  CHECK(printed.str() == "ssl::losses::Sinkhorn(epsilon=0.05, iterations=3, world_size=1, all_reduce_sum=none)");
}
