#include "sslkit/ssl/convolution.h"
#include "sslkit/ssl/encoders.h"
#include "sslkit/trainers/precision.h"

#include "../gradcheck.h"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <set>
#include <string>

namespace {

// Largest |a - b| over max |b|.
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kDouble) - b.to(torch::kDouble)).abs().max().item<double>() /
         b.to(torch::kDouble).abs().max().item<double>();
}

// Output, input gradient and weight gradient of sum(conv(x, w) * probe) through `conv`.
std::vector<torch::Tensor> run(const std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&)>& conv,
                               const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& probe) {
  auto x = input.detach().clone().requires_grad_(true);
  auto w = weight.detach().clone().requires_grad_(true);
  auto out = conv(x, w);
  (out.to(probe.scalar_type()) * probe).sum().backward();
  return {out.detach(), x.grad(), w.grad()};
}

// Nodes of `output`'s autograd graph whose name contains `name`.
int count_nodes(const torch::Tensor& output, const std::string& name) {
  std::vector<torch::autograd::Node*> stack{output.grad_fn().get()};
  std::set<torch::autograd::Node*> seen;
  int count = 0;
  while (!stack.empty()) {
    auto* node = stack.back();
    stack.pop_back();
    if (node == nullptr || !seen.insert(node).second) continue;
    if (node->name().find(name) != std::string::npos) ++count;
    for (const auto& edge : node->next_edges()) stack.push_back(edge.function.get());
  }
  return count;
}

}  // namespace

TEST_CASE("conv2d_im2col equals LibTorch's conv2d and its gradients in float64", "[trainers][convolution]") {
  torch::manual_seed(0);
  for (const int64_t stride : {1, 2}) {
    for (const int64_t padding : {0, 1}) {
      const auto x = torch::randn({3, 5, 7, 6}, torch::kDouble);
      const auto w = torch::randn({4, 5, 3, 3}, torch::kDouble);
      const auto probe = torch::randn_like(at::conv2d(x, w, {}, stride, padding));
      const auto ours = run([&](auto& a, auto& b) { return ssl::conv2d_im2col(a, b, stride, padding); },
                            x, w, probe);
      const auto reference = run([&](auto& a, auto& b) { return at::conv2d(a, b, {}, stride, padding); }, x, w,
                                 probe);
      INFO("stride " << stride << ", padding " << padding);
      // The same sums in another order: measured at most 4.7e-16 relative.
      for (size_t i = 0; i < 3; ++i) CHECK(relative_error(ours[i], reference[i]) < 1e-13);
    }
  }
}

TEST_CASE("conv2d_im2col's weight gradient matches float64 finite differences", "[trainers][convolution]") {
  torch::manual_seed(1);
  const auto x = torch::randn({2, 3, 5, 5}, torch::kDouble);
  const auto probe = torch::randn({2, 4, 3, 3}, torch::kDouble);
  const auto loss = [&](const torch::Tensor& w) { return (ssl::conv2d_im2col(x, w, 2, 1) * probe).sum(); };
  // Central differences of a function linear in w: only rounding, measured 1.5e-8 (a wrong stride or padding
  // gives order 1).
  CHECK(ssl::testing::max_gradient_error(loss, torch::randn({4, 3, 3, 3}, torch::kDouble)) < 1e-6);
}

TEST_CASE("conv2d_im2col in bf16 returns an fp32 weight's gradient in fp32, within bf16 rounding",
          "[trainers][convolution]") {
  torch::manual_seed(2);
  const auto x = torch::randn({8, 16, 7, 7}).to(torch::kBFloat16).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto w = torch::randn({128, 16, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto probe = torch::randn({8, 128, 4, 4});
  const auto ours = run([](auto& a, auto& b) { return ssl::conv2d_im2col(a, b, 2, 1); }, x, w, probe);
  CHECK(ours[0].scalar_type() == torch::kBFloat16);
  CHECK(ours[1].scalar_type() == torch::kBFloat16);
  CHECK(ours[2].scalar_type() == torch::kFloat);
  CHECK(ours[2].sizes() == w.sizes());
  // Against float64 on the same bf16-rounded operands, each result rounded to bf16 (one ulp is 2^-8 = 3.9e-3 of
  // an entry in the largest one's binade): measured 2.2e-3 (output), 4.0e-3 (input gradient), 2.5e-3 (weight
  // gradient) of the largest entry.
  const auto reference =
      run([](auto& a, auto& b) { return at::conv2d(a, b, {}, 2, 1); }, x.to(torch::kDouble),
          w.to(torch::kBFloat16).to(torch::kDouble), probe.to(torch::kBFloat16).to(torch::kDouble));
  for (size_t i = 0; i < 3; ++i) CHECK(relative_error(ours[i], reference[i]) < 1e-2);
}

TEST_CASE("im2col_conv_pays for bf16 CPU training of 4096 outputs, or 1024 on at most 2x2 positions",
          "[trainers][convolution]") {
  const auto bf16 = torch::zeros({1, 64, 7, 7}, torch::kBFloat16);  // 4x4 out at stride 2, 2x2 at stride 4
  const auto weights = [](int64_t out) { return torch::zeros({out, 64, 3, 3}).requires_grad_(true); };
  CHECK(ssl::im2col_conv_pays(bf16, weights(4096), 2, 1));
  CHECK_FALSE(ssl::im2col_conv_pays(bf16, weights(2048), 2, 1));
  CHECK(ssl::im2col_conv_pays(bf16, weights(1024), 4, 1));
  CHECK_FALSE(ssl::im2col_conv_pays(bf16, weights(512), 4, 1));
  CHECK_FALSE(ssl::im2col_conv_pays(bf16.to(torch::kFloat), weights(4096), 2, 1));
  CHECK_FALSE(ssl::im2col_conv_pays(bf16, weights(4096).detach(), 2, 1));
  torch::NoGradGuard no_grad;
  CHECK_FALSE(ssl::im2col_conv_pays(bf16, weights(4096), 2, 1));
}

TEST_CASE("convnet-w on 16x16 images in CPU bf16 autocast: its 1024-wide convolution (2x2 out) as im2col matmuls "
          "trains as with oneDNN's kernels, to bf16 rounding",
          "[trainers][convolution]") {
  torch::manual_seed(3);
  auto encoder = ssl::make_encoder("convnet-w", ssl::EncoderOptions(1));
  auto body = encoder->children().at(0)->as<torch::nn::SequentialImpl>();
  REQUIRE(body != nullptr);
  const auto images = torch::randn({4, 1, 16, 16});
  const auto gradients = [&](const std::function<torch::Tensor()>& features) {
    encoder->zero_grad();
    torch::Tensor loss;
    {
      ssl::trainers::AutocastGuard autocast(ssl::trainers::Precision::BF16, torch::kCPU);
      loss = features().to(torch::kFloat).square().sum();
    }
    loss.backward();
    std::vector<torch::Tensor> grads;
    for (const auto& parameter : encoder->parameters()) grads.push_back(parameter.grad().clone());
    return grads;
  };
  const auto ours = gradients([&] {
    auto features = encoder->forward(images);
    CHECK(count_nodes(features, "Im2colConv2d") == 1);
    return features;
  });
  const auto onednn = gradients([&] { return body->forward(images).mean({2, 3}); });
  const auto names = encoder->named_parameters().keys();
  REQUIRE(ours.size() == names.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    INFO(names[i]);
    // Each path rounds the wide convolution's output and gradients to bf16 once, summing in its own order; the
    // difference reaches the earlier layers through the input gradient. Measured at most 5.6e-3 of the largest
    // entry.
    CHECK(relative_error(ours[i], onednn[i]) < 5e-2);
  }
}
