#include "errors.h"
#include "gradcheck.h"

#include <sslkit/losses.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

namespace L = ssl::losses;
using ssl::testing::error_message;

namespace {

// Independent float64 loop form of facebookresearch/dino DINOLoss.forward (main_dino.py): for every teacher crop t
// and student crop s != t, mean over rows n of -sum_k q[k] log p[k] with q = softmax((teacher - center) / tau_t) and
// log p = s / tau_s - log sum exp(s / tau_s), each softmax by explicit max-shifted exp sums; divided by the pairs.
double reference_dino(const std::vector<torch::Tensor>& student, const std::vector<torch::Tensor>& teacher,
                      const torch::Tensor& center, double tau_s, double tau_t) {
  const int64_t n = teacher[0].size(0), k = teacher[0].size(1);
  double total = 0;
  int pairs = 0;
  for (size_t t = 0; t < teacher.size(); ++t) {
    for (size_t s = 0; s < student.size(); ++s) {
      if (s == t) continue;
      ++pairs;
      for (int64_t row = 0; row < n; ++row) {
        std::vector<double> a(k), b(k);
        for (int64_t j = 0; j < k; ++j) {
          a[j] = (teacher[t][row][j].item<double>() - center[j].item<double>()) / tau_t;
          b[j] = student[s][row][j].item<double>() / tau_s;
        }
        const double max_a = *std::max_element(a.begin(), a.end()), max_b = *std::max_element(b.begin(), b.end());
        double sum_a = 0, sum_b = 0;
        for (int64_t j = 0; j < k; ++j) sum_a += std::exp(a[j] - max_a), sum_b += std::exp(b[j] - max_b);
        for (int64_t j = 0; j < k; ++j) {
          const double q = std::exp(a[j] - max_a) / sum_a, log_p = b[j] - max_b - std::log(sum_b);
          total -= q * log_p / n;
        }
      }
    }
  }
  return total / pairs;
}

}  // namespace

TEST_CASE("dino of a three-crop example equals its closed form", "[losses][dino]") {
  // K = 2, tau_s = 0.1, tau_t = 0.04, center (1, 1). Student crops: s0 = (0, 0) -> p = (1/2, 1/2); s1 = s2 =
  // (0, 0.1 ln 3) -> p = (1/4, 3/4). Teacher crops: t0 = (1, 1) -> q = (1/2, 1/2); t1 = (1, 1 + 0.04 ln 3) ->
  // q = (1/4, 3/4). Pairs (t, s != t): (0, 1), (0, 2), (1, 0), (1, 2), so with H(q, p) = -sum q log p:
  // loss = [2 H((1/2, 1/2), (1/4, 3/4)) + H((1/4, 3/4), (1/2, 1/2)) + H((1/4, 3/4), (1/4, 3/4))] / 4.
  const auto row = [](double a, double b) { return torch::tensor({{a, b}}, torch::kDouble); };
  const std::vector<torch::Tensor> student = {row(0, 0), row(0, 0.1 * std::log(3.0)), row(0, 0.1 * std::log(3.0))};
  const std::vector<torch::Tensor> teacher = {row(1, 1), row(1, 1 + 0.04 * std::log(3.0))};
  const auto center = torch::tensor({1.0, 1.0}, torch::kDouble);
  const double h_half_quarter = -(0.5 * std::log(0.25) + 0.5 * std::log(0.75));
  const double h_quarter_half = std::log(2.0);
  const double h_quarter_quarter = -(0.25 * std::log(0.25) + 0.75 * std::log(0.75));
  const double expected = (2 * h_half_quarter + h_quarter_half + h_quarter_quarter) / 4;
  CHECK(L::dino(student, teacher, center).item<double>() == Approx(expected).epsilon(1e-12));
  L::DINOLoss module;
  CHECK(module(student, teacher, center).item<double>() == Approx(expected).epsilon(1e-12));
}

TEST_CASE("dino matches an independent loop implementation of the official code", "[losses][dino]") {
  // Reference: reference_dino above (explicit loops, float64); tolerance 1e-10 relative (summation order only).
  torch::manual_seed(10);
  for (const auto& [v_s, v_t] : {std::pair<int, int>{2, 2}, {5, 2}, {3, 1}}) {
    INFO("V_s=" << v_s << " V_t=" << v_t);
    std::vector<torch::Tensor> student, teacher;
    for (int i = 0; i < v_s; ++i) student.push_back(torch::randn({3, 5}, torch::kDouble));
    for (int i = 0; i < v_t; ++i) teacher.push_back(torch::randn({3, 5}, torch::kDouble) * 0.2);
    const auto center = torch::randn({5}, torch::kDouble) * 0.1;
    const auto options = L::DINOOptions().student_temperature(0.2).teacher_temperature(0.07);
    CHECK(L::dino(student, teacher, center, options).item<double>() ==
          Approx(reference_dino(student, teacher, center, 0.2, 0.07)).epsilon(1e-10));
    CHECK(L::dino(student, teacher, center).item<double>() ==
          Approx(reference_dino(student, teacher, center, 0.1, 0.04)).epsilon(1e-10));
  }
}

TEST_CASE("dino sends gradients to the student only", "[losses][dino]") {
  torch::manual_seed(11);
  const auto s0 = torch::randn({4, 6}).requires_grad_(), s1 = torch::randn({4, 6}).requires_grad_();
  const auto t0 = torch::randn({4, 6}).requires_grad_(), t1 = torch::randn({4, 6}).requires_grad_();
  const auto center = torch::zeros({6}).requires_grad_();
  L::dino({s0, s1}, {t0, t1}, center).backward();
  CHECK(s0.grad().defined());
  CHECK(s1.grad().defined());
  CHECK_FALSE(t0.grad().defined());
  CHECK_FALSE(t1.grad().defined());
  CHECK_FALSE(center.grad().defined());
}

TEST_CASE("dino gradient matches float64 central differences", "[losses][dino][gradcheck]") {
  // tau_s = 0.5, tau_t = 0.25: at the defaults (0.1, 0.04) randn logits give softmaxes so peaked that some gradient
  // entries fall to ~1e-12, below the central differences' rounding noise (~1e-10), and the relative error of those
  // entries measures that noise, not the gradient.
  const auto options = L::DINOOptions().student_temperature(0.5).teacher_temperature(0.25);
  torch::manual_seed(12);
  for (const auto& [n, k] : {std::pair<int64_t, int64_t>{1, 3}, {3, 4}, {2, 6}}) {
    INFO("N=" << n << " K=" << k);
    const auto t0 = torch::randn({n, k}, torch::kDouble), t1 = torch::randn({n, k}, torch::kDouble);
    const auto s1 = torch::randn({n, k}, torch::kDouble), s2 = torch::randn({n, k}, torch::kDouble);
    const auto center = torch::randn({k}, torch::kDouble);
    for (int crop : {0, 2}) {  // a global and a local student crop
      INFO("student crop " << crop);
      const auto f = [&](const torch::Tensor& x) {
        return L::dino({crop == 0 ? x : s1 * 0.5, s1, crop == 2 ? x : s2}, {t0, t1}, center, options);
      };
      CHECK(ssl::testing::max_gradient_error(f, torch::randn({n, k}, torch::kDouble)) <= 1e-4);
    }
  }
}

TEST_CASE("dino_center_update is the official EMA of the teacher rows' mean", "[losses][dino]") {
  // Teacher crops [[1, 3], [3, 5]] and [[0, 0], [0, 4]]: the mean over their 4 rows is (1, 3), so with center
  // (1, 2) and momentum 0.9: 0.9 (1, 2) + 0.1 (1, 3) = (1, 2.1).
  const auto center = torch::tensor({1.0, 2.0});
  const std::vector<torch::Tensor> teacher = {torch::tensor({{1.0, 3.0}, {3.0, 5.0}}, torch::kDouble).requires_grad_(),
                                              torch::tensor({{0.0, 0.0}, {0.0, 4.0}}, torch::kDouble)};
  const auto updated = L::dino_center_update(center, teacher, 0.9);
  CHECK(updated.scalar_type() == torch::kFloat);  // the center's dtype
  CHECK_FALSE(updated.requires_grad());
  CHECK(updated[0].item<double>() == Approx(1.0).epsilon(1e-6));
  CHECK(updated[1].item<double>() == Approx(2.1).epsilon(1e-6));
  CHECK(torch::equal(L::dino_center_update(center, teacher, 1.0), center));
  // Two ranks: the other holds 4 rows summing to (20, 20), so the global mean is ((4, 12) + (20, 20)) / 8 = (3, 4)
  // and the center becomes 0.9 (1, 2) + 0.1 (3, 4) = (1.2, 2.2); the hook is called once, on the [K] sum.
  int calls = 0;
  const auto other_rank = [&](torch::Tensor& sum) {
    ++calls;
    sum += torch::tensor({20.0, 20.0}, sum.options());
  };
  const auto global = L::dino_center_update(center, teacher, 0.9, other_rank, 2);
  CHECK(calls == 1);
  CHECK(global[0].item<double>() == Approx(1.2).epsilon(1e-6));
  CHECK(global[1].item<double>() == Approx(2.2).epsilon(1e-6));
}

TEST_CASE("dino rejects bad inputs and options with the offending values", "[losses][dino][errors]") {
  const auto a = torch::randn({4, 6});
  const auto center = torch::zeros({6});
  CHECK(error_message([&] { L::dino({a}, {a}, center); }) ==
        "dino: student needs at least 2 crops and one per teacher crop (global crops first), got 1 student and 1 "
        "teacher crops");
  CHECK(error_message([&] { L::dino({a, a}, {}, center); }) == "dino: teacher holds no crops");
  CHECK(error_message([&] { L::dino({a, a, torch::randn({4, 5})}, {a, a}, center); }) ==
        "dino: student[2] and teacher[0] must have the same shape, got [4, 5] and [4, 6]");
  CHECK(error_message([&] { L::dino({a, a}, {a, a}, torch::zeros({5})); }) ==
        "dino: center must have shape [6] (K of the teacher crops [4, 6]), got [5]");
  CHECK(error_message([&] { L::dino({a, a}, {a}, center, L::DINOOptions().teacher_temperature(0)); }) ==
        "dino: teacher_temperature must be > 0, got 0");
  CHECK(error_message([&] { L::DINOLoss(L::DINOOptions().student_temperature(-1)); }) ==
        "DINOLoss: student_temperature must be > 0, got -1");
  CHECK(error_message([&] { L::dino_center_update(center, {a}, 1.5); }) ==
        "dino_center_update: momentum must be in [0, 1], got 1.5");
  CHECK(error_message([&] { L::dino_center_update(center, {a}, 0.9, nullptr, 2); }) ==
        "dino_center_update: world_size 2 needs an all_reduce_sum");
  CHECK(error_message([&] { L::dino_center_update(center, {a}, 0.9, nullptr, 0); }) ==
        "dino_center_update: world_size must be >= 1, got 0");
  std::ostringstream printed;
  printed << *L::DINOLoss();
  CHECK(printed.str() == "ssl::losses::DINOLoss(student_temperature=0.1, teacher_temperature=0.04)");
}
