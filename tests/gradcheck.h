#pragma once
// Float64 central-difference gradient check shared by the loss tests (mlpack's ann_test_tools style).
#include <torch/torch.h>

#include <functional>

namespace ssl::testing {

/// Largest relative error between autograd's gradient of the scalar f(x) and central differences
/// (f(x + eps e_i) - f(x - eps e_i)) / 2eps over every element of float64 `x`; the relative error of an
/// element is |a - n| / max(1e-8, |a| + |n|) (so a zero gradient on both sides counts as exact).
inline double max_gradient_error(const std::function<torch::Tensor(const torch::Tensor&)>& f, torch::Tensor x,
                                 double eps = 1e-6) {
  x = x.detach().to(torch::kDouble).clone().requires_grad_(true);
  auto y = f(x);
  auto analytic = torch::autograd::grad({y}, {x})[0].detach();
  double worst = 0;
  torch::NoGradGuard no_grad;
  auto flat = x.view({-1});
  auto analytic_flat = analytic.reshape({-1});
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double saved = flat[i].item<double>();
    flat[i] = saved + eps;
    const double plus = f(x).item<double>();
    flat[i] = saved - eps;
    const double minus = f(x).item<double>();
    flat[i] = saved;
    const double numeric = (plus - minus) / (2 * eps);
    const double a = analytic_flat[i].item<double>();
    worst = std::max(worst, std::abs(a - numeric) / std::max(1e-8, std::abs(a) + std::abs(numeric)));
  }
  return worst;
}

}  // namespace ssl::testing
