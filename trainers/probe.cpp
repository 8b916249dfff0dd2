#include "sslkit/trainers/probe.h"

#include "sslkit/data/rng.h"

#include <torch/nn/functional/loss.h>
#include <torch/optim/lbfgs.h>

#include <numeric>

namespace ssl::trainers {
namespace {

struct LinearModel {
  torch::Tensor weight, bias;
};

LinearModel fit(const torch::Tensor& x, const torch::Tensor& y, int64_t classes, double weight_decay,
                int64_t max_iterations) {
  auto weight = torch::zeros({x.size(1), classes}, x.options()).requires_grad_(true);
  auto bias = torch::zeros({classes}, x.options()).requires_grad_(true);
  torch::optim::LBFGS optimizer({weight, bias}, torch::optim::LBFGSOptions(1.0)
                                                     .max_iter(max_iterations)
                                                     .history_size(20)
                                                     .line_search_fn("strong_wolfe"));
  optimizer.step([&] {
    optimizer.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(torch::addmm(bias, x, weight), y) +
                weight_decay * weight.pow(2).sum();
    loss.backward();
    return loss;
  });
  return {weight.detach(), bias.detach()};
}

double accuracy(const LinearModel& model, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  auto predicted = torch::addmm(model.bias, x, model.weight).argmax(1);
  return predicted.eq(y).to(torch::kDouble).mean().item<double>();
}

void check_split(const torch::Tensor& features, const torch::Tensor& labels, const char* split) {
  TORCH_CHECK(features.dim() == 2 && features.size(0) > 0, "linear probe: ", split,
              " features must be a non-empty [N, D] tensor, got ", features.sizes());
  TORCH_CHECK(labels.dim() == 1 && labels.size(0) == features.size(0), "linear probe: ", split, " has ",
              features.size(0), " feature rows but labels of shape ", labels.sizes());
}

}  // namespace

torch::Tensor extract_features(EncoderImpl& encoder, const torch::Tensor& images, const data::Normalization& norm,
                               torch::Device device, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  const bool was_training = encoder.is_training();
  encoder.eval();
  encoder.to(device);
  std::vector<torch::Tensor> chunks;
  for (int64_t first = 0; first < images.size(0); first += batch_size) {
    const int64_t count = std::min(batch_size, images.size(0) - first);
    auto x = data::to_float_images(images.narrow(0, first, count), norm).to(device);
    chunks.push_back(encoder.forward(x).to(torch::kFloat).cpu());
  }
  encoder.train(was_training);
  return torch::cat(chunks, 0);
}

torch::Tensor raw_pixel_features(const torch::Tensor& images, const data::Normalization& norm) {
  return data::to_float_images(images, norm).flatten(1);
}

LinearProbeResult linear_probe(const torch::Tensor& train_features, const torch::Tensor& train_labels,
                               const torch::Tensor& test_features, const torch::Tensor& test_labels,
                               const LinearProbeOptions& options) {
  check_split(train_features, train_labels, "train");
  check_split(test_features, test_labels, "test");
  TORCH_CHECK(train_features.size(1) == test_features.size(1), "linear probe: train features have ",
              train_features.size(1), " dimensions, test features ", test_features.size(1));
  TORCH_CHECK(!options.weight_decays().empty(), "linear probe: no candidate weight decays");
  const int64_t n = train_features.size(0);
  TORCH_CHECK(options.validation_size() > 0 && options.validation_size() < n, "linear probe: validation size ",
              options.validation_size(), " must be in (0, ", n, ")");

  auto train_x = train_features.to(torch::kFloat);
  auto mean = train_x.mean(0);
  auto stddev = train_x.std(0).add_(1e-6);
  train_x = (train_x - mean) / stddev;
  auto test_x = (test_features.to(torch::kFloat) - mean) / stddev;
  auto train_y = train_labels.to(torch::kInt64);
  auto test_y = test_labels.to(torch::kInt64);
  const int64_t classes = std::max(train_y.max().item<int64_t>(), test_y.max().item<int64_t>()) + 1;

  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  data::Rng rng(options.seed(), 0, 0, /*stream=*/0x9b0be);
  for (size_t i = order.size() - 1; i > 0; --i) {
    std::swap(order[i], order[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(i)))]);
  }
  auto permutation = torch::tensor(order);
  auto validation_index = permutation.narrow(0, 0, options.validation_size());
  auto fit_index = permutation.narrow(0, options.validation_size(), n - options.validation_size());
  auto fit_x = train_x.index_select(0, fit_index), fit_y = train_y.index_select(0, fit_index);
  auto validation_x = train_x.index_select(0, validation_index);
  auto validation_y = train_y.index_select(0, validation_index);

  LinearProbeResult result;
  result.feature_dim = train_x.size(1);
  result.validation_accuracy = -1;
  for (const double weight_decay : options.weight_decays()) {
    TORCH_CHECK(weight_decay >= 0, "linear probe: weight decay must be >= 0, got ", weight_decay);
    const double acc = accuracy(fit(fit_x, fit_y, classes, weight_decay, options.max_iterations()), validation_x,
                                validation_y);
    if (acc > result.validation_accuracy) {
      result.validation_accuracy = acc;
      result.weight_decay = weight_decay;
    }
  }
  const LinearModel model = fit(train_x, train_y, classes, result.weight_decay, options.max_iterations());
  result.test_accuracy = accuracy(model, test_x, test_y);
  return result;
}

}  // namespace ssl::trainers
